#!/usr/bin/env python3
"""Runs a relais binary over the real samples and prints what it made of them.

- Each partner feed sample of `fixtures/feeds/` is synced into a fresh SQLite store: the offers
  kept, the warnings by kind, and how many offers have each field the model holds (commune,
  contract, work-study flag, duration, working time, weekly hours, salary).
- Those offers, and the offers of a France Travail search response when one is given (its
  `resultats`), are the real jobs of a deduplication set: `relais dedup reshape` adds one copy of
  each per copy operator, and `relais dedup eval` scores the binary on them, over all copies and
  one operator at a time (each time with every original, so that false merges count too).

With `--background N`, N records of the generated benchmark are added to the whole set, as a
production store holds thousands of offers of each board: the boards' boilerplate that the
copies carry is then learned, as it is in production, which a set of a few dozen jobs cannot do.
The copies found per operator then come from `dedup eval`'s own figures (the binary must have
them), over the real jobs only.

Used to say whether a change made anything worse on real inputs: run it with the binary before
and the binary after, and compare. `--reshape-with` names the binary that writes the copies (one
that has `dedup reshape`), so that an older binary is scored on the same records.

    scripts/real-samples.py --relais target/release/relais \\
        [--ft-sample search-response.json] [--reshape-with BIN] [--out DIR] [--json]
"""

import argparse
import collections
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
FEEDS = ROOT / "fixtures" / "feeds"

# The samples and the format that reads each (as in `fixtures/src/sample_feeds.rs`).
SAMPLES = [
    ("hellowork", "hellowork.xml", '{ type = "xml", preset = "hellowork" }'),
    ("hellowork-buddi", "hellowork-buddi.xml", '{ type = "xml", preset = "hellowork_buddi" }'),
    ("jooble", "jooble.xml", '{ type = "xml", preset = "jooble" }'),
    ("apec", "apec.xml", '{ type = "xml", preset = "apec" }'),
    ("jobteaser", "jobteaser.xml", '{ type = "xml", preset = "jobteaser" }'),
    ("pass", "pass-fonction-publique.rss", '{ type = "rss", preset = "pass" }'),
    ("francetravail-partenaires", "france-travail-partner.csv", '{ type = "france_travail_partner" }'),
]

CONTRACT_CODES = {
    "permanent": "CDI",
    "fixed_term": "CDD",
    "temporary": "MIS",
    "seasonal": "SAI",
    "self_employed": "LIB",
}


def run(binary, *args):
    done = subprocess.run([binary, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{binary} {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def feed_fields(offers):
    """How many offers have each field relais reads from a feed."""
    has = collections.Counter()
    for offer in offers:
        location = offer.get("location") or {}
        contract = offer.get("contract") or {}
        working_time = offer.get("working_time") or {}
        has["offers"] += 1
        has["commune"] += location.get("commune") is not None
        has["departement"] += location.get("departement") is not None
        has["contract"] += contract.get("kind") not in (None, "other")
        has["work_study"] += bool(contract.get("work_study"))
        has["duration"] += contract.get("duration") is not None
        has["working_time"] += working_time.get("kind") not in (None, "unknown")
        has["weekly_hours"] += working_time.get("weekly_hours") is not None
        has["salary"] += (offer.get("salary") or {}).get("min") is not None
        has["employer"] += (offer.get("employer") or {}).get("name") is not None
        has["created_at"] += (offer.get("dates") or {}).get("created_at") is not None
        for warning in offer.get("warnings") or []:
            has["warning:" + warning.get("kind", "?")] += 1
    return dict(has)


def as_offre(offer):
    """A stored partner offer as a France Travail `Offre`, the shape `dedup eval` reads."""
    key = offer["key"]
    location = offer.get("location") or {}
    contract = offer.get("contract") or {}
    dates = offer.get("dates") or {}
    created = dates.get("created_at") or offer["first_seen_at"]
    offre = {
        "id": f"{key['source']}-{key['source_offer_id']}",
        "intitule": offer["title"],
        "description": offer.get("description") or "",
        "lieuTravail": {
            k: v
            for k, v in {
                "libelle": location.get("label"),
                "codePostal": location.get("postal_code"),
                "commune": location.get("commune"),
            }.items()
            if v
        },
        "dateCreation": created,
        "dateActualisation": dates.get("updated_at") or created,
    }
    name = (offer.get("employer") or {}).get("name")
    if name:
        offre["entreprise"] = {"nom": name}
    code = CONTRACT_CODES.get(contract.get("kind"))
    if code:
        offre["typeContrat"] = code
        offre["typeContratLibelle"] = contract.get("label") or code
    if contract.get("work_study"):
        offre["alternance"] = True
    kind = (offer.get("working_time") or {}).get("kind")
    if kind in ("full_time", "part_time"):
        offre["dureeTravailLibelleConverti"] = "Temps plein" if kind == "full_time" else "Temps partiel"
    salary = offer.get("salary") or {}
    if salary.get("label"):
        offre["salaire"] = {"libelle": salary["label"]}
    rome = (offer.get("job") or {}).get("rome_code")
    if rome:
        offre["romeCode"] = rome
    return offre


def scores(binary, offres, truth):
    report = json.loads(run(binary, "dedup", "eval", "--offres", str(offres), "--truth", str(truth), "--json"))
    return {
        "records": report["records"],
        "true_pairs": report["true_pairs"],
        "predicted_pairs": report["predicted_pairs"],
        "precision": round(report["pairwise_precision"], 4),
        "recall": round(report["pairwise_recall"], 4),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--relais", required=True, help="the binary to score")
    parser.add_argument("--reshape-with", help="the binary that writes the copies (default: --relais)")
    parser.add_argument("--ft-sample", help="a France Travail search response (JSON with `resultats`)")
    parser.add_argument("--out", help="directory for the stores and sets (default: a temporary one)")
    parser.add_argument("--background", type=int, default=0, help="generated records added to the whole set")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    binary = str(pathlib.Path(args.relais).resolve())
    reshaper = str(pathlib.Path(args.reshape_with or args.relais).resolve())
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="relais-real-"))
    out.mkdir(parents=True, exist_ok=True)

    config = out / "relais.toml"
    lines = [f'[storage]\ndata_dir = "{out / "data"}"\n\n[francetravail]\nenabled = false\n']
    for source, file, fmt in SAMPLES:
        lines.append(f'[[sources]]\nid = "{source}"\nname = "{source}"\nurl = "{FEEDS / file}"\nformat = {fmt}\n')
    config.write_text("\n".join(lines))

    result = {"feeds": {}, "dedup": {}}
    offres = []
    for source, _, _ in SAMPLES:
        report = json.loads(run(binary, "--config", str(config), "sync", source, "--json"))
        offers = [json.loads(line) for line in run(binary, "--config", str(config), "offers", "--source", source, "--json").splitlines() if line.strip()]
        offers = [o for o in offers if (o.get("status") or {}).get("state") == "active"]
        fields = feed_fields(offers)
        fields["fetched"] = report.get("fetched")
        fields["rejected"] = report.get("rejected")
        result["feeds"][source] = fields
        offres.extend(as_offre(o) for o in offers)
    if args.ft_sample:
        offres.extend(json.loads(pathlib.Path(args.ft_sample).read_text())["resultats"])

    real = out / "real.jsonl"
    real.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in offres))
    reshaped = out / "reshaped"
    run(reshaper, "dedup", "reshape", "--offres", str(real), "--out", str(reshaped))
    records = (reshaped / "offres.jsonl").read_text().splitlines()
    truth = [line.split("\t") for line in (reshaped / "truth.tsv").read_text().splitlines()]
    plain_truth = reshaped / "truth-2col.tsv"
    plain_truth.write_text("".join(f"{row[0]}\t{row[1]}\n" for row in truth))
    result["dedup"]["jobs"] = len(offres)
    result["dedup"]["all"] = scores(binary, reshaped / "offres.jsonl", plain_truth)
    operators = sorted({row[4] for row in truth if row[4] != "original"})
    for operator in operators:
        keep = [i for i, row in enumerate(truth) if row[4] in ("original", operator)]
        subset = reshaped / f"{operator}.jsonl"
        subset.write_text("".join(records[i] + "\n" for i in keep))
        subset_truth = reshaped / f"{operator}.tsv"
        subset_truth.write_text("".join(f"{truth[i][0]}\t{truth[i][1]}\n" for i in keep))
        result["dedup"][operator] = scores(binary, subset, subset_truth)

    if args.background:
        generated = out / "generated"
        run(reshaper, "dedup", "generate", "--records", str(args.background), "--seed", "7", "--out", str(generated))
        mixed_records = list(records)
        mixed_truth = [f"{row[0]}\t{row[1]}\t\t\t{row[4]}" for row in truth]
        for line, labels in zip(
            (generated / "offres.jsonl").read_text().splitlines(),
            (generated / "truth.tsv").read_text().splitlines(),
        ):
            offre = json.loads(line)
            offre["id"] = "bg-" + offre["id"]
            mixed_records.append(json.dumps(offre, ensure_ascii=False))
            columns = labels.split("\t")
            mixed_truth.append(f"bg-{columns[0]}\tbg-{columns[1]}\t\t\tbackground")
        mixed = out / "mixed.jsonl"
        mixed.write_text("".join(r + "\n" for r in mixed_records))
        mixed_tsv = out / "mixed.tsv"
        mixed_tsv.write_text("".join(t + "\n" for t in mixed_truth))
        report = json.loads(run(binary, "dedup", "eval", "--offres", str(mixed), "--truth", str(mixed_tsv), "--json"))
        result["with_background"] = {
            "records": report["records"],
            "operators": {
                name: round(figures["recall"], 4)
                for name, figures in report["operators"].items()
                if name != "background"
            },
        }

    if args.json:
        print(json.dumps(result, indent=1, sort_keys=True))
        return
    fields = sorted({k for v in result["feeds"].values() for k in v})
    print("feed\t" + "\t".join(fields))
    for source, values in result["feeds"].items():
        print(source + "\t" + "\t".join(str(values.get(f, 0)) for f in fields))
    print(f"\ndedup over {result['dedup']['jobs']} real jobs and their copies")
    print("set\trecords\ttrue_pairs\tpredicted_pairs\tprecision\trecall")
    for name, s in result["dedup"].items():
        if name != "jobs":
            print(f"{name}\t{s['records']}\t{s['true_pairs']}\t{s['predicted_pairs']}\t{s['precision']}\t{s['recall']}")
    if "with_background" in result:
        background = result["with_background"]
        print(f"\nreal copies found in their original's cluster among {background['records']} records (with the generated ones)")
        for name, recall in background["operators"].items():
            print(f"{name}\t{recall}")


if __name__ == "__main__":
    main()
