#!/usr/bin/env python3
"""Derives territory/data/former-names.tsv: the names communes had in earlier vintages of the
COG, each with the current commune it is part of now, from the successive versions of the npm
package @etalab/decoupage-administratif (data under Licence Ouverte / Etalab 2.0).

Usage:
    scripts/derive-former-names.py VERSIONS_DIR CURRENT_PACKAGE_DIR OUTPUT_DIR

VERSIONS_DIR holds one folder per earlier version, named by the version and holding
`package/data/communes.json` (`0.3.0/package/data/communes.json`...); the versions and the
checksums of their archives are in territory/data/former-names.sha256. CURRENT_PACKAGE_DIR is the
unpacked pinned version (6.0.0), the one communes.tsv comes from. `.ci/run` fetches every version
with `npm pack`, checks the checksums, runs this script into a temporary folder and checks that
the output is byte-identical to what the repository ships.

A row is a name that a commune, a commune déléguée or a commune associée bore in some earlier
version and that no row of the current version gives that code: a commune merged into a commune
nouvelle without a commune déléguée, or renamed. Its current commune is, in this order: the
current commune with that code; the commune a current commune déléguée or associée with that code
belongs to; the current commune that lists the code among its former codes (`anciensCodes`).
Names whose current commune cannot be told are counted on stderr and left out. Standard library
only; the output is sorted and deterministic.
"""

import json
import os
import sys

KEPT_TYPES = {"commune-actuelle", "commune-deleguee", "commune-associee"}


def version_key(version):
    return tuple(int(part) for part in version.split("."))


def load_communes(package):
    with open(os.path.join(package, "data", "communes.json"), encoding="utf-8") as f:
        return json.load(f)


def clean(text):
    """TSV-safe text: no tabs or newlines."""
    return " ".join(str(text).split())


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    versions_dir, current_package, output = sys.argv[1:]

    current = load_communes(current_package)
    current_names = {}  # code -> names any current row gives it
    current_commune = {}  # code -> the current commune (COM) it is, or is part of
    for row in current:
        current_names.setdefault(row["code"], set()).add(row["nom"])
        if row["type"] == "commune-actuelle":
            current_commune[row["code"]] = row["code"]
    for row in current:
        if row["type"] in ("commune-deleguee", "commune-associee") and row.get("chefLieu"):
            current_commune.setdefault(row["code"], row["chefLieu"])
    for row in current:
        if row["type"] == "commune-actuelle":
            for code in row.get("anciensCodes") or []:
                current_commune.setdefault(code, row["code"])

    versions = sorted(
        (v for v in os.listdir(versions_dir) if all(p.isdigit() for p in v.split("."))),
        key=version_key,
    )
    # (code, name) -> the row of the latest version that had it.
    former = {}
    for version in versions:
        for row in load_communes(os.path.join(versions_dir, version, "package")):
            if row.get("type") not in KEPT_TYPES:
                continue
            if row["nom"] in current_names.get(row["code"], ()):
                continue
            former[(row["code"], row["nom"])] = (version, row)

    rows = []
    unplaced = 0
    for (code, name), (version, row) in former.items():
        commune = current_commune.get(code)
        if commune is None:
            unplaced += 1
            continue
        rows.append(
            (
                code,
                name,
                row.get("departement", ""),
                " ".join(sorted(row.get("codesPostaux") or [])),
                commune,
                version,
            )
        )
    rows.sort()
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "former-names.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("code\tname\tdepartement\tpostal_codes\tcommune\tlast_version\n")
        for r in rows:
            f.write("\t".join(clean(v) for v in r) + "\n")
    print(
        f"{len(rows)} former names from {len(versions)} versions; {unplaced} left out (no current commune)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
