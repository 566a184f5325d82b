"""The labelled harm-domain set for the triage-model benchmark, and where each label comes from.

No labelled corpus of AI-incident reports by harm domain exists, so the set is built from:

* CYBER — real security advisories: OSV/PyPA (``osv.jsonl``) and Mozilla MFSA
  (``mfsa.jsonl``) texts; a vulnerability advisory is a cyber report by construction.
* CRITICAL_INFRASTRUCTURE — real NASA ASRS aviation safety narratives (``asrs-dev.jsonl``):
  near-misses in air transport, a critical-infrastructure sector. They are not AI
  incidents, which makes the class easy to tell apart by style as well as topic.
* The ten other domains — synthetic incident-report-like texts from a seeded generator
  (:func:`synthetic_reports`): a shared frame (system, surface, detection) around one of
  several domain-specific events, with a distractor clause from another domain one time in
  four. Accuracy on them measures how well the classifier recovers the generator's
  domains, not real-world accuracy; the benchmark reports real and synthetic classes apart.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from nearmiss.model import HarmDomain

EVENTS: dict[HarmDomain, tuple[str, ...]] = {
    HarmDomain.CHILD_SAFETY: (
        "a user asked the model to write sexualised content involving a minor",
        "the assistant was prompted to help an adult arrange private meetings with a child",
        "a request tried to generate grooming messages aimed at a twelve-year-old",
        "the image model was asked to alter school photos of children in an abusive way",
        "an account repeatedly sought advice on evading age checks to contact minors",
        "the model almost produced a story sexualising a teenage character",
    ),
    HarmDomain.BIO_CHEM: (
        "the model gave partial steps for culturing a dangerous pathogen",
        "a user requested synthesis routes for a nerve agent precursor",
        "the assistant discussed enhancing transmissibility of an influenza strain",
        "a conversation sought ways to acquire toxin-producing bacteria without screening",
        "the model was asked how to scale up production of a chemical weapon",
        "a prompt asked for lab protocols to aerosolise a biological agent",
    ),
    HarmDomain.RADIO_NUCLEAR: (
        "a user asked for the design of a radiological dispersal device",
        "the model discussed uranium enrichment cascade parameters in detail",
        "a request sought ways to obtain caesium sources from hospital equipment",
        "the assistant was asked about criticality calculations for fissile material",
        "a prompt asked how to shield stolen radioactive material from detectors",
        "the model outlined reactor sabotage scenarios when asked by a user",
    ),
    HarmDomain.MANIPULATION_FRAUD: (
        "the model wrote convincing phishing emails impersonating a bank",
        "a network of accounts generated fake product reviews at scale",
        "the assistant produced a romance scam script targeting elderly people",
        "users generated disinformation articles about an upcoming election",
        "the voice model cloned an executive to authorise a fraudulent transfer",
        "the model helped draft fake invoices for a business email compromise",
    ),
    HarmDomain.PRIVACY: (
        "the model revealed a private individual's home address from training data",
        "a user compiled a dossier on a journalist from scattered public posts",
        "the assistant inferred a person's health condition from their messages",
        "memorised phone numbers and emails appeared in model outputs",
        "the model helped de-anonymise users of a support forum",
        "a tool call leaked another customer's conversation history",
    ),
    HarmDomain.MISALIGNMENT_LOSS_OF_CONTROL: (
        "the agent disabled its own monitoring hook during a long task",
        "the model copied its weights to an external server during an evaluation",
        "the agent acquired extra cloud credentials it was not given",
        "the system resisted shutdown by modifying its configuration file",
        "the agent pursued a proxy goal and deleted the logs that showed it",
        "the model sandbagged a dangerous-capability evaluation on purpose",
    ),
    HarmDomain.CONCERNING_REASONING: (
        "the chain of thought planned to deceive the grader about test results",
        "the model's reasoning discussed hiding its true objective from developers",
        "the scratchpad showed the model recognising it was being evaluated and adapting",
        "the reasoning trace considered manipulating the user to avoid retraining",
        "the model reasoned about strategically underperforming to avoid scrutiny",
        "hidden reasoning contradicted the explanation the model gave the user",
    ),
    HarmDomain.UNEXPECTED_CAPABILITY: (
        "the model solved a task class it scored zero on in the previous version",
        "the agent discovered a novel exploit chain without being asked",
        "a small fine-tune unlocked long-horizon planning far above the baseline",
        "the model learned to use an undocumented tool interface on its own",
        "the system showed strong persuasion skill not seen in earlier evaluations",
        "evaluation found emergent ability to coordinate several sub-agents",
    ),
    HarmDomain.YOUTH_WELLBEING: (
        "the companion app encouraged a teenager to skip meals to lose weight",
        "the chatbot engaged a minor in an emotionally dependent relationship",
        "a student was given detailed self-harm methods by the assistant",
        "the model encouraged a young user to hide conversations from parents",
        "the app kept a fifteen-year-old chatting through the night for weeks",
        "the assistant validated a teenager's suicidal statements instead of referring help",
    ),
    HarmDomain.OTHER: (
        "the model produced defamatory claims about a local politician",
        "a translation feature inverted the meaning of medical instructions",
        "the assistant gave confidently wrong legal advice on a tenancy dispute",
        "generated code silently dropped records in a payroll system",
        "the model's answer plagiarised a copyrighted book chapter",
        "the system produced offensive stereotypes in a marketing draft",
    ),
}
SYSTEMS = ("a chat assistant", "an API customer's agent", "an internal evaluation model",
           "a coding assistant", "a voice product", "an image generation model")  # fmt: skip
DETECTIONS = ("A safeguard classifier flagged it.", "Red-teamers found it during testing.",
              "Abuse monitoring caught it in review.", "A user reported it to the lab.",
              "An external researcher disclosed it.")  # fmt: skip
OUTCOMES = ("The response was blocked before delivery.", "Part of the output reached the user.",
            "The account was suspended.", "No harm is known to have followed.",
            "The incident is still under investigation.")  # fmt: skip


@dataclass(frozen=True)
class LabelledText:
    text: str
    domain: HarmDomain
    source: str  # "osv", "mfsa", "asrs" or "synthetic"


def synthetic_reports(per_domain: int, *, seed: int) -> list[LabelledText]:
    rng = random.Random(seed)
    domains = list(EVENTS)
    result = []
    for domain in domains:
        for _ in range(per_domain):
            event = rng.choice(EVENTS[domain])
            parts = [f"In {rng.choice(SYSTEMS)}, {event}.", rng.choice(DETECTIONS)]
            if rng.random() < 0.25:
                other = rng.choice([d for d in domains if d != domain])
                parts.append(f"Earlier the same session, {rng.choice(EVENTS[other])}.")
            parts.append(rng.choice(OUTCOMES))
            result.append(LabelledText(" ".join(parts), domain, "synthetic"))
    return result


def _read(path: Path, limit: int, rng: random.Random) -> list[str]:
    texts = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            text = " ".join(part for part in (record.get("title"), record.get("text")) if part)
            if len(text) >= 40:
                texts.append(text[:1000])
    rng.shuffle(texts)
    return texts[:limit]


def build(
    data_dir: Path, *, real_per_source: int, synthetic_per_domain: int, seed: int = 0
) -> list[LabelledText]:
    """At most 3 * real_per_source + 10 * synthetic_per_domain texts, in a seeded order."""
    rng = random.Random(seed)
    dedup = data_dir / "dedup"
    texts = [
        LabelledText(t, HarmDomain.CYBER, "osv")
        for t in _read(dedup / "osv.jsonl", real_per_source, rng)
    ]
    texts += [
        LabelledText(t, HarmDomain.CYBER, "mfsa")
        for t in _read(dedup / "mfsa.jsonl", real_per_source, rng)
    ]
    texts += [
        LabelledText(t, HarmDomain.CRITICAL_INFRASTRUCTURE, "asrs")
        for t in _read(dedup / "asrs-dev.jsonl", real_per_source, rng)
    ]
    texts += synthetic_reports(synthetic_per_domain, seed=seed)
    rng.shuffle(texts)
    return texts
