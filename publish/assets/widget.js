/* relais: <relais-offres feed="grand-cahors"></relais-offres>, the job offers of a territory.
 *
 * One classic script, no dependency. The element draws itself in a shadow DOM, so the host
 * page's CSS does not reach it (its root resets every inherited property) and its own CSS does
 * not leak out.
 * It reads /widget/{feed}/offres from the server it was loaded from (or its `serveur`
 * attribute) and writes every value as text, never as HTML. Themeable with CSS custom
 * properties set on the element: --relais-couleur-accent, --relais-couleur-texte,
 * --relais-couleur-fond, --relais-couleur-discret, --relais-police, --relais-rayon.
 */
(function () {
  "use strict";
  if (!window.customElements || window.customElements.get("relais-offres")) {
    return;
  }
  var script = document.currentScript;
  var defaultServer = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  // Taken now: a host script that replaces them later changes nothing here.
  var fetchJson = window.fetch.bind(window);
  var URLClass = window.URL;
  var FILTERS = ["q", "contrat", "commune", "temps"];
  var UNAVAILABLE = "Les offres ne peuvent pas être affichées pour le moment. Réessayez dans quelques instants.";

  var STYLE = [
    ":host { display: block; }",
    ":host([hidden]) { display: none; }",
    // The host page's rules reach the element itself (even with !important), not its shadow
    // tree: every inherited property starts afresh here.
    ".relais { all: initial; display: block; padding: 0.75em; font-size: medium; line-height: 1.5;",
    "  font-family: var(--relais-police, system-ui, -apple-system, \"Segoe UI\", Roboto, sans-serif);",
    "  color: var(--relais-couleur-texte, #1f2328); background: var(--relais-couleur-fond, #ffffff); }",
    "*, *::before, *::after { box-sizing: border-box; }",
    "h2 { font-size: 1.25em; line-height: 1.3; margin: 0 0 0.75em; }",
    "form { display: grid; grid-template-columns: repeat(auto-fit, minmax(11em, 1fr)); gap: 0.5em 0.75em; align-items: end; margin: 0 0 1em; }",
    "label { display: block; font-size: 0.9em; font-weight: 600; margin-bottom: 0.2em; }",
    "input, select, button { width: 100%; font: inherit; padding: 0.45em 0.55em; margin: 0; border: 1px solid #6e7781;",
    "  border-radius: var(--relais-rayon, 6px); background: #ffffff; color: #1f2328; }",
    "button { background: var(--relais-couleur-accent, #0b5394); border-color: var(--relais-couleur-accent, #0b5394);",
    "  color: #ffffff; font-weight: 600; cursor: pointer; }",
    "button[disabled] { opacity: 0.7; cursor: progress; }",
    "a { color: var(--relais-couleur-accent, #0b5394); }",
    "a:focus-visible, input:focus-visible, select:focus-visible, button:focus-visible {",
    "  outline: 3px solid var(--relais-couleur-accent, #0b5394); outline-offset: 2px; }",
    "ul { list-style: none; margin: 0; padding: 0; }",
    ".offre { border: 1px solid #d0d7de; border-radius: var(--relais-rayon, 6px); padding: 0.75em; margin: 0 0 0.6em; }",
    ".offre h3 { font-size: 1.05em; line-height: 1.35; margin: 0 0 0.25em; overflow-wrap: anywhere; }",
    ".offre p { margin: 0.15em 0; overflow-wrap: anywhere; }",
    ".discret, .credits { color: var(--relais-couleur-discret, #545b63); font-size: 0.9em; }",
    ".nombre { margin: 0 0 0.6em; font-weight: 600; }",
    ".etat { padding: 0.75em; margin: 0 0 0.75em; border-radius: var(--relais-rayon, 6px); background: #f6f8fa; }",
    ".etat button { width: auto; margin-top: 0.5em; }",
    ".suite { width: auto; margin: 0.25em 0 0.75em; }",
    "[hidden] { display: none !important; }"
  ].join("\n");

  /* An element with attributes and children (strings become text nodes). */
  function make(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function field(id, label, control) {
    return make("div", {}, [make("label", { for: id }, [label]), control]);
  }

  function offersCount(total) {
    if (total === 0) {
      return "Aucune offre ne correspond à votre recherche.";
    }
    return total === 1 ? "1 offre" : total.toLocaleString("fr-FR") + " offres";
  }

  class RelaisOffres extends HTMLElement {
    static get observedAttributes() {
      return ["feed", "serveur"];
    }

    constructor() {
      super();
      this._root = this.attachShadow({ mode: "open" });
      this._filters = { q: "", contrat: "", commune: "", temps: "" };
      this._next = null;
      this._shown = 0;
      this._request = 0;
    }

    connectedCallback() {
      if (!this._parts) {
        this._build();
      }
      this._load(false);
    }

    attributeChangedCallback() {
      if (this._parts && this.isConnected) {
        this._load(false);
      }
    }

    _server() {
      return this.getAttribute("serveur") || defaultServer;
    }

    _absolute(url) {
      return new URLClass(url, this._server()).href;
    }

    _build() {
      var self = this;
      var parts = {
        title: make("h2", { id: "titre" }, ["Offres d'emploi"]),
        q: make("input", { id: "q", name: "q", type: "search", maxlength: "500", autocomplete: "off" }),
        contrat: make("select", { id: "contrat", name: "contrat" }),
        commune: make("select", { id: "commune", name: "commune" }),
        temps: make("select", { id: "temps", name: "temps" }),
        submit: make("button", { type: "submit" }, ["Rechercher"]),
        count: make("p", { class: "nombre", role: "status", "aria-live": "polite" }),
        state: make("div", { class: "etat", hidden: "" }),
        list: make("ul", { "aria-labelledby": "titre" }),
        more: make("button", { type: "button", class: "suite", hidden: "" }, ["Offres suivantes"]),
        credits: make("p", { class: "credits" })
      };
      parts.form = make("form", { role: "search", "aria-label": "Rechercher dans les offres" }, [
        field("q", "Métier, mot-clé", parts.q),
        field("contrat", "Contrat", parts.contrat),
        field("commune", "Commune", parts.commune),
        field("temps", "Temps de travail", parts.temps),
        make("div", {}, [parts.submit])
      ]);
      parts.form.addEventListener("submit", function (event) {
        event.preventDefault();
        FILTERS.forEach(function (name) {
          self._filters[name] = parts[name].value.trim();
        });
        self._load(false);
      });
      parts.more.addEventListener("click", function () {
        self._load(true);
      });
      this._parts = parts;
      this._fillChoices({ contracts: [], communes: [], working_times: [] });
      this._root.appendChild(make("style", {}, [STYLE]));
      this._root.appendChild(make("div", { class: "relais" }, [
        parts.title, parts.form, parts.count, parts.state, parts.list, parts.more, parts.credits
      ]));
    }

    _load(append) {
      var self = this;
      var parts = this._parts;
      var feed = this.getAttribute("feed");
      var request = ++this._request;
      if (!feed) {
        this._fail("Ce widget n'indique pas son flux d'offres (attribut feed).", false);
        return;
      }
      var url = new URLClass("/widget/" + encodeURIComponent(feed) + "/offres", this._server());
      FILTERS.forEach(function (name) {
        if (self._filters[name]) {
          url.searchParams.set(name, self._filters[name]);
        }
      });
      if (append && this._next) {
        url.searchParams.set("suite", this._next);
      }
      parts.list.setAttribute("aria-busy", "true");
      parts.submit.disabled = true;
      parts.more.disabled = true;
      parts.count.textContent = "Chargement des offres…";
      fetchJson(url.href, { headers: { Accept: "application/json" }, credentials: "omit" })
        .then(function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, body: body };
          }, function () {
            return { ok: false, body: null };
          });
        })
        .then(function (answer) {
          if (request !== self._request) {
            return;
          }
          if (answer.ok) {
            self._show(answer.body, append);
          } else {
            self._fail((answer.body && answer.body.error) || UNAVAILABLE, true);
          }
        }, function () {
          if (request === self._request) {
            self._fail(UNAVAILABLE, true);
          }
        });
    }

    _settled() {
      this._parts.list.removeAttribute("aria-busy");
      this._parts.submit.disabled = false;
      this._parts.more.disabled = false;
    }

    _fail(message, retry) {
      var self = this;
      var parts = this._parts;
      this._settled();
      parts.count.textContent = "";
      parts.list.textContent = "";
      parts.more.hidden = true;
      parts.state.textContent = "";
      parts.state.setAttribute("role", "alert");
      parts.state.appendChild(make("p", {}, [message]));
      if (retry) {
        var again = make("button", { type: "button" }, ["Réessayer"]);
        again.addEventListener("click", function () {
          self._load(false);
        });
        parts.state.appendChild(again);
      }
      parts.state.hidden = false;
    }

    _show(view, append) {
      var self = this;
      var parts = this._parts;
      this._settled();
      parts.title.textContent = this.getAttribute("titre") || view.title;
      this._fillChoices(view);
      parts.state.hidden = true;
      parts.state.removeAttribute("role");
      parts.state.textContent = "";
      if (!append) {
        parts.list.textContent = "";
        this._shown = 0;
      }
      var first = null;
      view.offers.forEach(function (offer) {
        var link = make("a", { href: self._absolute(offer.page_url) }, [offer.title]);
        first = first || link;
        var facts = [offer.employer, offer.place, offer.contract].filter(Boolean).join(" · ");
        var dated = [offer.published && "Publiée le " + offer.published,
          offer.updated && offer.updated !== offer.published && "mise à jour le " + offer.updated].filter(Boolean);
        var credit = offer.credit || {};
        var source = credit.link_back
          ? make("a", { href: credit.link_back }, [credit.text])
          : document.createTextNode(credit.text || "");
        parts.list.appendChild(make("li", { class: "offre" }, [
          make("h3", {}, [link]),
          make("p", {}, [facts]),
          make("p", { class: "discret" }, [dated.join(", ") + (dated.length ? " · " : ""), source])
        ]));
      });
      this._shown += view.offers.length;
      this._next = view.next || null;
      parts.more.hidden = !this._next;
      if (view.total === 0) {
        parts.count.textContent = offersCount(0);
        var reset = make("button", { type: "button" }, ["Voir toutes les offres du territoire"]);
        reset.addEventListener("click", function () {
          FILTERS.forEach(function (name) {
            self._filters[name] = "";
            parts[name].value = "";
          });
          self._load(false);
        });
        parts.state.appendChild(reset);
        parts.state.hidden = false;
      } else if (this._next || append) {
        parts.count.textContent = offersCount(view.total) + " (" + this._shown + " affichées)";
      } else {
        parts.count.textContent = offersCount(view.total);
      }
      if (append && first) {
        first.focus();
      }
      this._credit(view);
      if (view.beacon && view.offers.length) {
        this._report(view.beacon);
      }
    }

    // Tells relais itself (no third party) which offers are now on screen: the token, signed by
    // the server, names them. A text/plain POST needs no preflight.
    _report(token) {
      var url = new URLClass("/v1/traffic/impressions", this._server());
      fetchJson(url.href, {
        method: "POST", body: token, credentials: "omit", keepalive: true,
        headers: { "Content-Type": "text/plain" }
      }).catch(function () {});
    }

    _fillChoices(view) {
      var self = this;
      [["contrat", view.contracts, "Tous les contrats"], ["commune", view.communes, "Toutes les communes"],
        ["temps", view.working_times, "Tous"]].forEach(function (filter) {
        var select = self._parts[filter[0]];
        var current = self._filters[filter[0]];
        select.textContent = "";
        select.appendChild(make("option", { value: "" }, [filter[2]]));
        filter[1].forEach(function (choice) {
          var option = make("option", { value: choice.value }, [choice.label]);
          option.selected = choice.value === current;
          select.appendChild(option);
        });
      });
      this._parts.q.value = this._filters.q;
    }

    _credit(view) {
      var parts = this._parts;
      var self = this;
      parts.credits.textContent = "Sources : ";
      (view.credits || []).forEach(function (credit, i) {
        if (i > 0) {
          parts.credits.appendChild(document.createTextNode(", "));
        }
        parts.credits.appendChild(credit.licence_url
          ? make("a", { href: credit.licence_url }, [credit.name])
          : document.createTextNode(credit.name));
      });
      parts.credits.appendChild(document.createTextNode(". "));
      parts.credits.appendChild(make("a", { href: self._absolute(view.method_url) }, ["Méthode et licences"]));
    }
  }

  window.customElements.define("relais-offres", RelaisOffres);

  // The iframe form tells its height: fit every relais iframe of this page to its content.
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== defaultServer || !data || data.type !== "relais-hauteur") {
      return;
    }
    var frames = document.querySelectorAll("iframe");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = Math.ceil(Number(data.hauteur) || 0) + "px";
      }
    }
  });
})();
