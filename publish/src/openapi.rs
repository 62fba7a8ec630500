//! `GET /openapi.json`: the OpenAPI 3.1 document of the consumer API, generated from the code
//! (utoipa): the handlers' paths and parameters, the response types, every error code.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::{ContactBuilder, InfoBuilder, LicenseBuilder};
use utoipa::{OpenApi, ToSchema};

use relais_licence::{ChannelCredit, Credit, SourceCredit};

use crate::feeds::{FeedDetails, FeedOffer, FeedResponse};
use crate::search::{FacetCount, OfferDetail, OfferSummary, SearchResponse};
use crate::status::Readiness;

/// The error shape of every endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine code (see `docs/api.md`).
    #[schema(value_type = ErrorCode)]
    pub code: String,
    /// For humans; may change.
    pub message: String,
}

/// Every error code (kept equal to `ApiError::CODES` by a test).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used.
pub enum ErrorCode {
    FeedNotFound,
    OfferNotFound,
    OfferWithdrawn,
    NotFound,
    MethodNotAllowed,
    UnknownParameter,
    RepeatedParameter,
    InvalidParameter,
    RadiusTooLarge,
    InvalidCoordinates,
    InvalidCursor,
    QueryTooLong,
    NotReady,
    MissingApiKey,
    InvalidApiKey,
    RevokedApiKey,
    InsufficientScope,
    RateLimited,
    DailyQuotaExceeded,
    DailyOffersExceeded,
    Internal,
}

/// The values of `experience`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used.
pub enum ExperienceParam {
    BeginnerAccepted,
    Desired,
    Required,
    Unknown,
}

/// The values of `format` of a report.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used.
pub enum ReportFormat {
    Json,
    Csv,
    Html,
}

/// The values of `sort`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used.
pub enum SortParam {
    Relevance,
    Date,
    Distance,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::search::search,
        crate::search::offer,
        crate::search::search_rss,
        crate::search::search_atom,
        crate::feeds::list::list,
        crate::feeds::feed_offers,
        crate::feeds::feed_rss,
        crate::feeds::feed_atom,
        healthz,
        crate::status::ready,
        crate::sources::sources,
        crate::pages::widget_beacon,
        crate::reports::reports,
        openapi_json,
    ),
    components(schemas(
        SearchResponse,
        OfferSummary,
        FacetCount,
        OfferDetail,
        FeedResponse,
        FeedOffer,
        crate::feeds::FeedsResponse,
        crate::feeds::FeedListing,
        crate::feeds::FeedLinks,
        FeedDetails,
        ChannelCredit,
        Credit,
        SourceCredit,
        Readiness,
        ErrorBody,
        ErrorDetail,
        ErrorCode,
        ExperienceParam,
        SortParam,
        ReportFormat,
        crate::sources::SourcesResponse,
        crate::sources::SourceStatus,
        crate::reports::Report,
        crate::reports::Totals,
        crate::reports::DayRow,
        crate::reports::TopOffer,
    )),
    modifiers(&BearerKey),
    tags(
        (name = "search", description = "Search the offers (mobile apps, websites)"),
        (name = "feeds", description = "The configured feeds of a collectivité"),
        (name = "sources", description = "The sources, their freshness and their licences"),
        (name = "reports", description = "Traffic reports of a collectivité (a key of scope `reports`)"),
        (name = "operations", description = "Health, readiness and this document"),
    )
)]
struct ApiDoc;

/// The API key: `Authorization: Bearer <key>`.
struct BearerKey;

impl utoipa::Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A key made by `relais key create`, sent as `Authorization: Bearer <key>`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.info = InfoBuilder::new()
        .title("relais")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Job offers of a territory, rediffused under France Travail's licence: search, \
             offer details and feeds. Every error has the shape `{\"error\": {\"code\", \"message\"}}` \
             with a stable code. The reference for app developers is docs/api.md.",
        ))
        .license(Some(
            LicenseBuilder::new()
                .name("MIT OR Apache-2.0")
                .identifier(Some("MIT OR Apache-2.0"))
                .build(),
        ))
        .contact(Some(ContactBuilder::new().name(Some("relais")).build()))
        .build();
    document
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process answers", body = String, content_type = "text/plain"))
)]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

#[cfg(test)]
mod tests;
