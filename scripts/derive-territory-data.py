#!/usr/bin/env python3
"""Derives the compact geography that relais ships (territory/data/*.tsv) from the npm package
@etalab/decoupage-administratif (COG 2026, data under Licence Ouverte / Etalab 2.0).

Usage:
    scripts/derive-territory-data.py PACKAGE_DIR OUTPUT_DIR

PACKAGE_DIR is the unpacked package (the folder holding data/communes.json). The pinned version
and its checksum are in territory/data/SOURCE.md; `.ci/run` fetches that version with
`npm pack`, runs this script into a temporary folder and checks the output is byte-identical to
what the repository ships. Standard library only; the output is sorted and deterministic.
"""

import json
import os
import sys

TYPES = {
    "commune-actuelle": "COM",
    "arrondissement-municipal": "ARM",
    "commune-deleguee": "COMD",
    "commune-associee": "COMA",
}


def load(package, name):
    with open(os.path.join(package, "data", name), encoding="utf-8") as f:
        return json.load(f)


def clean(text):
    """TSV-safe text: no tabs or newlines."""
    return " ".join(str(text).split())


def write(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join("" if v is None else clean(v) for v in row) + "\n")


def main(package, output):
    communes = load(package, "communes.json")
    groupings = [(g, "EPCI") for g in load(package, "epci.json")] + [(g, "EPT") for g in load(package, "ept.json")]
    epci_of, ept_of = {}, {}
    for grouping, kind in groupings:
        target = epci_of if kind == "EPCI" else ept_of
        for member in grouping["membres"]:
            target[member["code"]] = grouping["code"]

    rows = []
    for c in communes:
        kind = TYPES[c["type"]]
        parent = c.get("commune") if kind == "ARM" else c.get("chefLieu") if kind in ("COMD", "COMA") else None
        rows.append((
            c["code"], kind, c["nom"], c.get("departement"), c.get("region"),
            epci_of.get(c["code"]) if kind == "COM" else None,
            ept_of.get(c["code"]) if kind == "COM" else None,
            c.get("population"), " ".join(sorted(c.get("codesPostaux", []))), parent,
            " ".join(sorted(c.get("anciensCodes", []))),
        ))
    rows.sort(key=lambda r: (r[0], r[1]))
    write(os.path.join(output, "communes.tsv"),
          ["code", "type", "name", "departement", "region", "epci", "ept", "population", "postal_codes", "parent", "former_codes"],
          rows)

    write(os.path.join(output, "groupings.tsv"), ["siren", "kind", "type", "name", "population"],
          sorted((g["code"], kind, g.get("type"), g["nom"], g.get("populationMunicipale")) for g, kind in groupings))
    write(os.path.join(output, "departements.tsv"), ["code", "name", "region", "chef_lieu"],
          sorted((d["code"], d["nom"], d["region"], d["chefLieu"]) for d in load(package, "departements.json")))
    write(os.path.join(output, "regions.tsv"), ["code", "name", "chef_lieu"],
          sorted((r["code"], r["nom"], r["chefLieu"]) for r in load(package, "regions.json")))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
