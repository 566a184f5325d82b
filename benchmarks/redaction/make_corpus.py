# ruff: noqa: E501  (prose templates and value tables read better unwrapped)
"""Deterministic generator of the labelled redaction corpus (``corpus.jsonl``).

Rules this script keeps:

- Seeded: the same seed writes the same file byte for byte (the JSONL is committed).
- Incident prose in the voice of a trust & safety analyst, with personal data and
  secrets planted in varied formats (values from ``corpus_values.py``).
- Hard negatives are planted and *not* labelled: SHA-256 prompt hashes, commit ids,
  MD5 config hashes, UUIDs, ATLAS technique ids, CVE ids, versions, dates, times, epoch
  timestamps, model names, ticket numbers, counts and money, domains, organisations,
  places. Organisations and places are not personal data.
- Every label is ``{"start", "end", "type", "value"}``, a half-open character span.

Usage: python make_corpus.py [--seed 20261122] [--count 400] [--out corpus.jsonl]
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_values import MODELS, ORGS, PLACES, TECHNIQUES, TOWNS, Gen

Part = str | tuple[str, str]
Template = Callable[[Gen, dict[str, list[str]]], list[Part]]

BEHAVIOUR = [
    "drafted a convincing invoice-fraud email",
    "listed steps to disable the content filter",
    "produced working exploit code for an unpatched router",
    "role-played as a bank's fraud team",
    "summarised a leaked HR document",
    "wrote a grooming script that was blocked mid-stream",
    "generated a synthesis route that the classifier caught late",
    "kept reasoning about how to avoid the monitor",
]


def _person(g: Gen, ctx: dict[str, list[str]]) -> tuple[str, str]:
    name = g.name()
    ctx.setdefault("people", []).append(name)
    return "PERSON", name


def _date(g: Gen) -> str:
    return g.r.choice(
        [
            f"{g.r.randint(1, 28)} {g.pick(['March', 'October', 'November'])}",
            f"2026-{g.r.randint(1, 11):02d}-{g.r.randint(1, 28):02d}",
            f"{g.r.randint(1, 28):02d}/{g.r.randint(1, 11):02d}/2026",
        ]
    )


def _ip_parts(g: Gen) -> list[Part]:
    """An address, sometimes with a port: the port is not personal data, so unlabelled."""
    value = g.ip()
    if "." in value and g.r.random() < 0.3:
        return [("IP_ADDRESS", value), f":{g.pick(['22', '443', '8443', '3389'])}"]
    return [("IP_ADDRESS", value)]


def _key_parts(g: Gen) -> list[Part]:
    key = g.api_key()
    if key.startswith("Bearer "):
        return ["Authorization: Bearer ", ("API_KEY", key[len("Bearer ") :])]
    return [("API_KEY", key)]


ENTITY_TEMPLATES: list[Template] = [
    lambda g, c: [
        f"On {_date(g)} the on-call analyst ",
        _person(g, c),
        f" flagged a conversation in which the model {g.pick(BEHAVIOUR)}.",
    ],
    lambda g, c: [
        "The account holder, ",
        _person(g, c),
        ", registered with ",
        ("EMAIL", g.email()),
        " and gave ",
        ("PHONE", g.phone()),
        " as a contact number.",
    ],
    lambda g, c: [
        _person(g, c),
        " (",
        ("EMAIL", g.email()),
        ") reported that the assistant ",
        f"{g.pick(BEHAVIOUR)}.",
    ],
    lambda g, c: [
        "Requests came from ",
        *_ip_parts(g),
        " and ",
        *_ip_parts(g),
        f" over {g.r.randint(2, 72)} hours, all signed with ",
        *_key_parts(g),
        ".",
    ],
    lambda g, c: [
        "The user pasted a payment card ",
        ("CREDIT_CARD", g.card()),
        f" (exp {g.r.randint(1, 12):02d}/{g.r.randint(27, 31)}) and asked for help "
        "laundering the proceeds.",
    ],
    lambda g, c: [
        "The generated phishing email asked the target to wire funds to IBAN ",
        ("IBAN", g.iban()),
        ".",
    ],
    lambda g, c: (
        lambda lead_id: [
            "The prompt contained the victim's ",
            f"{lead_id[0]} ",
            ("GOV_ID", lead_id[1]),
            ", date of birth and home address ",
            ("ADDRESS", g.address()),
            f", {g.pick(TOWNS)}.",
        ]
    )(g.gov_id()),
    lambda g, c: [
        "Our scanner found a leaked token ",
        *_key_parts(g),
        " in a public gist maintained by ",
        _person(g, c),
        ".",
    ],
    lambda g, c: [
        "The transcript included a session JWT ",
        ("JWT", g.jwt()),
        " copied from the customer's admin console.",
    ],
    lambda g, c: [
        "The agent printed the following deploy key:\n",
        ("PRIVATE_KEY", g.private_key()),
        "\nand then tried to push to the release branch.",
    ],
    lambda g, c: [
        "Connection string ",
        ("URL_CREDENTIALS", g.url_credentials()),
        " appeared verbatim in the tool output.",
    ],
    lambda g, c: [
        g.pick(
            [
                "The model suggested the root password ",
                "It then set DB_PASSWORD=",
                "The leaked config had password: ",
            ]
        ),
        ("SECRET", g.password()),
        g.pick([" for the staging cluster.", " in plain text.", "."]),
    ],
    lambda g, c: [
        "Reporter: ",
        _person(g, c),
        "\nEmail: ",
        ("EMAIL", g.email()),
        "\nPhone: ",
        ("PHONE", g.phone()),
        "\n",
    ],
    lambda g, c: (
        lambda name: [
            f"Contact {g.pick(['Dr.', 'Ms.', 'Mr.', 'Prof.'])} ",
            ("PERSON", name),
            " at ",
            ("PHONE", g.phone()),
            " or ",
            ("EMAIL", g.email()),
            ".",
        ]
    )(g.pick(["Okafor", "Lindqvist", "Haddad", "Kowalski", "Tanaka", "Mwangi"])),
    lambda g, c: [
        "Shipping address supplied to the model: ",
        ("ADDRESS", g.address()),
        f", {g.pick(TOWNS)}.",
    ],
    lambda g, c: [
        "Log excerpt: src=",
        *_ip_parts(g),
        " user=",
        ("EMAIL", g.email()),
        f" action=generate tokens={g.r.randint(200, 9000)}",
    ],
    lambda g, c: [
        "Leaked credentials: aws_access_key_id=",
        ("API_KEY", "AKIA" + g.alnum(16, string.ascii_uppercase + string.digits)),
        " aws_secret_access_key=",
        ("API_KEY", g.alnum(40, string.ascii_letters + string.digits + "+/")),
    ],
    lambda g, c: [
        "The red team led by ",
        _person(g, c),
        " and ",
        _person(g, c),
        f" reproduced it on {g.pick(MODELS)}.",
    ],
    lambda g, c: [
        "The customer's support line ",
        ("PHONE", g.phone()),
        " and billing card ending ",
        f"{g.digits(4)} were both mentioned by ",
        _person(g, c),
        ".",
    ],
    lambda g, c: [
        "A second payment card, ",
        ("CREDIT_CARD", g.card()),
        ", belonged to ",
        _person(g, c),
        " according to the chat.",
    ],
    lambda g, c: (
        lambda lead_id: [
            _person(g, c),
            f"'s {lead_id[0]} ",
            ("GOV_ID", lead_id[1]),
            " was readable in the uploaded screenshot.",
        ]
    )(g.gov_id()),
    lambda g, c: [
        "Beneficiary: ",
        _person(g, c),
        ", account ",
        ("IBAN", g.iban()),
        f", reference INV-{g.digits(5)}.",
    ],
]

REMENTIONS: list[Callable[[str], list[Part]]] = [
    lambda name: [
        ("PERSON", name.split()[0]),
        " later confirmed the behaviour on a second account.",
    ],
    lambda name: ["Escalation went to ", ("PERSON", name.split()[-1]), "'s manager the same day."],
    lambda name: ["According to ", ("PERSON", name), ", no data left the sandbox."],
]

FILLERS: list[Callable[[Gen], str]] = [
    lambda g: f"Prompt hash sha256:{g.hex(64)} matched ATLAS technique {g.pick(TECHNIQUES)}.",
    lambda g: (
        f"The fix landed in commit {g.hex(40)} of the safety filter (v{g.r.randint(1, 4)}.{g.r.randint(0, 20)}.{g.r.randint(0, 9)})."
    ),
    lambda g: f"Report id {g.uuid()}, internal ticket INC-{g.digits(5)}.",
    lambda g: (
        f"{g.pick(MODELS)} produced {g.r.randint(3, 4000):,} completions between {g.r.randint(0, 23):02d}:{g.r.randint(0, 59):02d} and {g.r.randint(0, 23):02d}:{g.r.randint(0, 59):02d} UTC on 2026-10-{g.r.randint(1, 30):02d}."
    ),
    lambda g: f"The write-up references CVE-2024-{g.digits(4)} and technique {g.pick(TECHNIQUES)}.",
    lambda g: (
        f"Estimated loss was ${g.r.randint(1000, 90000):,}; {g.r.randint(1, 99)}% of requests were blocked."
    ),
    lambda g: (
        f"Traffic went through secure-verify-account.example and cdn-{g.digits(2)}.example.net."
    ),
    lambda g: f"{g.pick(ORGS)} in {g.pick(PLACES)} was notified through the regional CERT.",
    lambda g: (
        f"The classifier threshold was raised from 0.{g.digits(2)} to 0.{g.digits(2)} after {g.r.randint(2, 60)} false negatives."
    ),
    lambda g: (
        f"Build 2026.11.{g.r.randint(1, 9)} of the moderation service, config md5 {g.hex(32)}."
    ),
    lambda g: (
        f"Rate limits were {g.r.randint(60, 900)} requests/min per key and {g.r.randint(2, 40)} keys were revoked."
    ),
    lambda g: f"The embedding checksum recorded for the prompt was {g.hex(64)}.",
    lambda g: (
        f"Epoch timestamp {g.r.randint(1_700_000_000, 1_800_000_000)} marks the first request; seed {g.digits(10)} was used for sampling."
    ),
    lambda g: (
        f"Model {g.pick(MODELS)} at temperature 0.{g.r.randint(1, 9)} with top-p 0.95 reproduced the output {g.r.randint(2, 9)} times in 10."
    ),
    lambda g: (
        f"Evaluation suite safety-evals v{g.r.randint(1, 3)}.{g.r.randint(0, 9)} scored {g.r.randint(50, 99)}.{g.digits(1)}% on the refusal set."
    ),
    lambda g: (
        "Mitigations: keys revoked, organisation terminated, indicators shared with the bank's CERT."
    ),
    lambda g: "No further misuse was observed after the classifier update was rolled out.",
    lambda g: (
        f"Monitoring picked it up on Monday via the abuse pipeline (rule ABUSE-{g.digits(3)})."
    ),
    lambda g: (
        f"Request ids req_{g.alnum(8, string.ascii_lowercase + string.digits)} to req_{g.alnum(8, string.ascii_lowercase + string.digits)} are attached."
    ),
    lambda g: (
        f"Severity was set to {g.r.randint(1, 4)} of 5 by the Safety Review Board in {g.pick(PLACES)}."
    ),
]


def make_doc(g: Gen) -> dict[str, object]:
    ctx: dict[str, list[str]] = {}
    chunks: list[list[Part]] = []
    for _ in range(g.r.randint(3, 5)):
        chunks.append(g.r.choice(ENTITY_TEMPLATES)(g, ctx))
    for _ in range(g.r.randint(3, 4)):
        position = g.r.randint(0, len(chunks))
        chunks.insert(position, [g.r.choice(FILLERS)(g)])
    people = [p for p in ctx.get("people", []) if "." not in p.split()[0]]
    if people and g.r.random() < 0.6:
        chunks.append(g.r.choice(REMENTIONS)(g.r.choice(people)))
    text = ""
    labels: list[dict[str, object]] = []
    for index, chunk in enumerate(chunks):
        if index and not text.endswith("\n"):
            text += " "
        for part in chunk:
            if isinstance(part, str):
                text += part
            else:
                kind, value = part
                labels.append(
                    {
                        "start": len(text),
                        "end": len(text) + len(value),
                        "type": kind,
                        "value": value,
                    }
                )
                text += value
    return {"text": text, "entities": labels}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("corpus.jsonl"))
    args = parser.parse_args()
    g = Gen(args.seed)
    with args.out.open("w", encoding="utf-8") as out:
        for number in range(args.count):
            doc = make_doc(g)
            doc = {"id": f"doc-{number:04d}", **doc}
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
