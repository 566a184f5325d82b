# ruff: noqa: E501  (prose templates and value tables read better unwrapped)
"""Value makers for the redaction corpus (see make_corpus.py).

Rules this module keeps:

- Values are made by the rules of their own world, not by the detector's patterns:
  phone numbers by national formats, cards by issuer prefix + Luhn, IBANs by country
  BBAN layout + ISO 7064 mod-97, ids by their national checksums, keys by their
  issuers' documented shapes. Several formats per type, some the detector is known to
  find hard (addresses without a street-type word, bare first names).
- One seeded ``random.Random`` drives everything: same seed, same values.
"""

from __future__ import annotations

import base64
import json
import random
import string

FIRST = [
    "Priya",
    "Aarav",
    "Ananya",
    "Rahul",
    "Mei",
    "Wei",
    "Jun",
    "Hiroshi",
    "Yuki",
    "Haruto",
    "Oluwaseun",
    "Chiamaka",
    "Kwame",
    "Abena",
    "Kofi",
    "Amara",
    "Zanele",
    "Thabo",
    "Fatima",
    "Omar",
    "Youssef",
    "Leila",
    "Tariq",
    "Noura",
    "Sven",
    "Ingrid",
    "Björn",
    "Astrid",
    "Mateo",
    "Valentina",
    "Sofía",
    "Joaquín",
    "Camila",
    "Dmitri",
    "Anastasia",
    "Olga",
    "Kateryna",
    "Bohdan",
    "Tomasz",
    "Agnieszka",
    "Siobhán",
    "Declan",
    "Aroha",
    "Tane",
    "Thanh",
    "Minh",
    "Ji-woo",
    "Seo-yeon",
    "Emily",
    "James",
    "Hannah",
    "Luca",
    "Giulia",
    "Pierre",
    "Camille",
    "Elif",
    "Mehmet",
    "Carlos",
    "João",
    "Beatriz",
    "Aisha",
    "Ivan",
    "Hamid",
    "Shirin",
    "Nikolai",
    "Esther",
    "Samuel",
    "Grace",
    "Daniel",
    "Rosa",
    "Mohammed",
]
LAST = [
    "Raman",
    "Patel",
    "Iyer",
    "Chen",
    "Wang",
    "Liu",
    "Tanaka",
    "Suzuki",
    "Adeyemi",
    "Okafor",
    "Mensah",
    "Boateng",
    "Dlamini",
    "Ndlovu",
    "Haddad",
    "El-Amin",
    "Benali",
    "Lindqvist",
    "Johansson",
    "García",
    "Fernández",
    "Rossi",
    "Bianchi",
    "Dubois",
    "Lefèvre",
    "Kowalski",
    "Wiśniewski",
    "Nowak",
    "O'Connor",
    "Ngata",
    "Nguyen",
    "Tran",
    "Kim",
    "Park",
    "Smith",
    "Johnson",
    "Müller",
    "Schmidt",
    "Horvat",
    "Ivanova",
    "Petrov",
    "Kovalenko",
    "Shevchenko",
    "Singh",
    "Gupta",
    "Santos",
    "Oliveira",
    "Yilmaz",
    "Demir",
    "van der Berg",
    "de Jong",
    "Hosseini",
    "Karimi",
    "Abubakar",
    "Mwangi",
    "Otieno",
    "Castillo",
    "Morales",
    "Novak",
]
DOMAINS = [
    "gmail.com",
    "outlook.com",
    "proton.me",
    "yahoo.co.uk",
    "northwind-analytics.com",
    "fabrikam.io",
    "contoso.org",
    "uni-hamburg.de",
    "mail.tsinghua.edu.cn",
    "lab.internal",
    "borealis.ai",
    "web.de",
    "orange.fr",
    "hotmail.es",
]
TOWNS = ["Springfield", "Leeds", "Boston", "Austin", "Manchester", "Dublin", "Toronto"]
STREETS = [
    "Linden",
    "Maple",
    "Kingsley",
    "Harbour",
    "Elm",
    "Station",
    "Mill",
    "Church",
    "Victoria",
    "Oak Hill",
    "Cedar",
    "Riverside",
    "Park",
]
EN_TYPES = [
    "Street",
    "St.",
    "Road",
    "Rd",
    "Avenue",
    "Ave",
    "Lane",
    "Drive",
    "Close",
    "Way",
    "Terrace",
    "Court",
    "Boulevard",
]

MODELS = [
    "gpt-4o-mini-2024-07-18",
    "claude-3-5-sonnet-20241022",
    "Llama-3.1-70B-Instruct",
    "Mistral Large 2",
    "Gemini 1.5 Pro",
    "borealis b-4.1",
    "Qwen2.5-72B",
    "o3-mini",
]
ORGS = [
    "Northwind Analytics Ltd",
    "Fabrikam Health",
    "Contoso Bank",
    "the regional CERT",
    "Tailspin Toys",
    "Woodgrove Bank",
    "Adatum Corp",
]
PLACES = ["Berlin", "Lagos", "São Paulo", "Singapore", "Nairobi", "Warsaw", "Osaka", "Toronto"]
TECHNIQUES = ["AML.T0054", "AML.T0051.000", "AML.T0043", "AML.T0024", "AML.T0048"]


class Gen:
    """All value makers share one seeded RNG."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def pick(self, items: list[str]) -> str:
        return self.r.choice(items)

    def digits(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    def alnum(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    # -- personal data -------------------------------------------------------------
    def name(self) -> str:
        first, last = self.pick(FIRST), self.pick(LAST)
        roll = self.r.random()
        if roll < 0.12:
            return f"{first} {self.pick(FIRST)} {last}"
        if roll < 0.20:
            return f"{first[0]}. {last}"
        return f"{first} {last}"

    def email(self, name: str | None = None) -> str:
        first, last = (name or self.name()).replace(".", "").split()[0], self.pick(LAST)
        local = self.pick(
            [
                f"{first}.{last}",
                f"{first[0]}{last}",
                f"{first}_{last}{self.digits(2)}",
                f"{first}{self.digits(3)}",
                f"{last}.{first[0]}",
            ]
        )
        local = "".join(c for c in local.lower() if c.isascii() and (c.isalnum() or c in "._"))
        value = f"{local}@{self.pick(DOMAINS)}"
        if self.r.random() < 0.1:
            value = value.replace("@", " [at] ").replace(".", " [dot] ", 1)
        return value

    def phone(self) -> str:
        r = self.r
        country = r.choice(["US", "US", "GB", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "NG", "KE"])
        if country == "US":
            area = r.choice(["212", "415", "617", "312", "206", "512", "303", "404", "702"])
            ex, line = f"{r.randint(2, 9)}{self.digits(2)}", self.digits(4)
            return r.choice(
                [
                    f"({area}) {ex}-{line}",
                    f"{area}-{ex}-{line}",
                    f"{area}.{ex}.{line}",
                    f"+1 {area} {ex} {line}",
                    f"1-{area}-{ex}-{line}",
                    f"+1 ({area}) {ex}-{line}",
                ]
            )
        if country == "GB":
            mobile = f"7{r.choice(['700', '911', '400', '834'])}{self.digits(6)}"
            london = f"20{r.choice(['7', '8', '3'])}{self.digits(7)}"
            n = r.choice([mobile, london])
            if n.startswith("7"):
                return r.choice(
                    [f"0{n[:4]} {n[4:]}", f"+44 {n[:4]} {n[4:]}", f"+44 (0){n[:4]} {n[4:]}"]
                )
            return r.choice([f"0{n[:2]} {n[2:6]} {n[6:]}", f"+44 {n[:2]} {n[2:6]} {n[6:]}"])
        if country == "DE":
            return r.choice(
                [
                    f"+49 30 {self.digits(8)}",
                    f"030 {self.digits(8)}",
                    f"+49 151 {self.digits(8)}",
                    f"0151/{self.digits(8)}",
                ]
            )
        if country == "FR":
            g = [self.digits(2) for _ in range(4)]
            lead = r.choice(["1", "6", "7"])
            return r.choice(
                [f"+33 {lead} {' '.join(g)}", f"0{lead} {' '.join(g)}", f"0{lead}.{'.'.join(g)}"]
            )
        if country == "IN":
            n = f"{r.choice('6789')}{self.digits(9)}"
            return r.choice([f"+91 {n[:5]} {n[5:]}", f"+91-{n}", f"0{n[:5]} {n[5:]}"])
        if country == "BR":
            return f"+55 11 9{self.digits(4)}-{self.digits(4)}"
        if country == "JP":
            return r.choice(
                [
                    f"+81 3-{self.digits(4)}-{self.digits(4)}",
                    f"03-{self.digits(4)}-{self.digits(4)}",
                    f"090-{self.digits(4)}-{self.digits(4)}",
                ]
            )
        if country == "AU":
            return r.choice(
                [
                    f"+61 2 {self.digits(4)} {self.digits(4)}",
                    f"04{self.digits(2)} {self.digits(3)} {self.digits(3)}",
                ]
            )
        if country == "NG":
            return f"+234 {r.choice(['803', '805', '816'])} {self.digits(3)} {self.digits(4)}"
        return f"+254 7{self.digits(2)} {self.digits(6)}"

    def ip(self) -> str:
        r = self.r
        roll = r.random()
        if roll < 0.55:
            first = r.choice([10, 172, 192, 203, 198, 45, 91, 185, 8, 100])
            v = f"{first}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
            return v
        groups = [f"{r.randint(0, 65535):x}" for _ in range(8)]
        if roll < 0.8:
            return ":".join(groups)
        return f"2001:db8:{groups[2]}::{groups[7]}"

    def card(self) -> str:
        r = self.r
        kind = r.choice(["visa", "visa", "mc", "mc2", "amex", "discover", "jcb"])
        prefix, length = {
            "visa": ("4", 16),
            "mc": (str(r.randint(51, 55)), 16),
            "mc2": (str(r.randint(2221, 2720)), 16),
            "amex": (r.choice(["34", "37"]), 15),
            "discover": ("6011", 16),
            "jcb": ("35" + str(r.randint(28, 89)), 16),
        }[kind]
        body = prefix + self.digits(length - len(prefix) - 1)
        number = body + str(_luhn_digit(body))
        if length == 15:
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[i : i + 4] for i in range(0, 16, 4)]
        return r.choice([" ".join(groups), "-".join(groups), number])

    def iban(self) -> str:
        r = self.r
        layouts = {
            "DE": "n8n10",
            "GB": "a4n14",
            "FR": "n10c11n2",
            "ES": "n20",
            "IT": "a1n10c12",
            "NL": "a4n10",
            "BE": "n12",
            "CH": "n5c12",
            "PL": "n24",
            "SE": "n20",
            "IE": "a4n14",
            "NO": "n11",
        }
        country = r.choice(list(layouts))
        bban = ""
        spec = layouts[country]
        i = 0
        while i < len(spec):
            kind = spec[i]
            j = i + 1
            while j < len(spec) and spec[j].isdigit():
                j += 1
            n = int(spec[i + 1 : j])
            alphabet = {
                "n": string.digits,
                "a": string.ascii_uppercase,
                "c": string.ascii_uppercase + string.digits,
            }[kind]
            bban += self.alnum(n, alphabet)
            i = j
        check = 98 - _mod97(bban + country + "00")
        iban = f"{country}{check:02d}{bban}"
        if r.random() < 0.6:
            return " ".join(iban[k : k + 4] for k in range(0, len(iban), 4))
        return iban

    def gov_id(self) -> tuple[str, str]:
        """(lead-in words, id). Lead-ins are how people write them, not always present."""
        r = self.r
        kind = r.choice(["ssn", "ssn", "nino", "nif", "aadhaar", "pesel", "sin"])
        if kind == "ssn":
            v = f"{r.choice([r.randint(1, 665), r.randint(667, 899)]):03d}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}"
            return r.choice(["SSN", "social security number", "SSN:"]), v
        if kind == "nino":
            first, second = "N", "K"
            while first + second in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
                first = r.choice("ABCEGHJKLMNOPRSTWXYZ")
                second = r.choice("ABCEGHJKLMNPRSTWXYZ")
            d = self.digits(6)
            v = r.choice(
                [
                    f"{first}{second}{d}{r.choice('ABCD')}",
                    f"{first}{second} {d[:2]} {d[2:4]} {d[4:]} {r.choice('ABCD')}",
                ]
            )
            return r.choice(["NI number", "National Insurance number", "NINO"]), v
        if kind == "nif":
            n = r.randint(10_000_000, 99_999_999)
            return r.choice(["DNI", "NIF"]), f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"
        if kind == "aadhaar":
            body = str(r.randint(2, 9)) + self.digits(10)
            full = body + _verhoeff_digit(body)
            return r.choice(["Aadhaar", "Aadhaar no."]), f"{full[:4]} {full[4:8]} {full[8:]}"
        if kind == "pesel":
            base = f"{r.randint(50, 99):02d}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{self.digits(4)}"
            weights = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
            check = (10 - sum(int(c) * w for c, w in zip(base, weights, strict=True)) % 10) % 10
            return "PESEL", base + str(check)
        body = str(r.choice([1, 2, 3, 4, 5, 6, 7, 9])) + self.digits(7)
        full = body + str(_luhn_digit(body))
        return "SIN", f"{full[:3]} {full[3:6]} {full[6:]}"

    def address(self) -> str:
        r = self.r
        style = r.choice(["us", "us", "uk", "de", "fr", "es", "it", "nl", "bare"])
        if style in ("us", "uk"):
            street = f"{r.randint(1, 9999) if style == 'us' else r.randint(1, 220)} {self.pick(STREETS)} {self.pick(EN_TYPES)}"
            if r.random() < 0.3:
                unit = r.choice(
                    [
                        f"Apt {r.randint(1, 40)}{r.choice('ABCD')}",
                        f"Flat {r.randint(1, 12)}",
                        f"Suite {r.randint(100, 900)}",
                    ]
                )
                street = r.choice([f"{unit}, {street}", f"{street}, {unit}"])
            return street
        if style == "de":
            return f"{r.choice(['Linden', 'Berg', 'Schiller', 'Garten', 'Bahnhof'])}{r.choice(['straße', 'weg', 'allee'])} {r.randint(1, 120)}"
        if style == "fr":
            return f"{r.randint(1, 120)} rue {r.choice(['des Lilas', 'de la Paix', 'Victor Hugo', 'du Moulin'])}"
        if style == "es":
            return f"Calle {r.choice(['de Alcalá', 'Mayor', 'del Sol', 'de Atocha'])} {r.randint(1, 200)}"
        if style == "it":
            return f"Via {r.choice(['Garibaldi', 'Roma', 'Dante', 'Verdi'])} {r.randint(1, 90)}"
        if style == "nl":
            return f"{r.choice(['Keizers', 'Heren', 'Prinsen'])}gracht {r.randint(1, 600)}"
        # Few or no street-type words: the detector is expected to find these hard.
        return r.choice(
            [
                f"Am Mühlbach {r.randint(1, 99)}",
                f"Kirchhof {r.randint(1, 30)}",
                f"{r.randint(1, 99)} The Green",
                f"{r.randint(1, 99)} Lower Quay",
            ]
        )

    # -- secrets -----------------------------------------------------------------------
    def api_key(self) -> str:
        r = self.r
        kind = r.choice(
            [
                "aws",
                "github",
                "github_pat",
                "openai",
                "openai_legacy",
                "anthropic",
                "slack",
                "google",
                "hf",
                "stripe",
                "bearer",
                "generic",
            ]
        )
        up = string.ascii_uppercase + string.digits
        return {
            "aws": lambda: r.choice(["AKIA", "ASIA"]) + self.alnum(16, up),
            "github": lambda: r.choice(["ghp_", "gho_", "ghs_"]) + self.alnum(36),
            "github_pat": lambda: "github_pat_11" + self.alnum(20, up) + "_" + self.alnum(59),
            "openai": lambda: (
                "sk-proj-"
                + self.alnum(r.randint(48, 120), string.ascii_letters + string.digits + "_-")
            ),
            "openai_legacy": lambda: "sk-" + self.alnum(20) + "T3BlbkFJ" + self.alnum(20),
            "anthropic": lambda: (
                "sk-ant-api03-" + self.alnum(93, string.ascii_letters + string.digits + "_-") + "AA"
            ),
            "slack": lambda: (
                f"xox{r.choice('bp')}-{self.digits(12)}-{self.digits(13)}-{self.alnum(24, string.ascii_lowercase + string.digits)}"
            ),
            "google": lambda: "AIza" + self.alnum(35, string.ascii_letters + string.digits + "_-"),
            "hf": lambda: "hf_" + self.alnum(34),
            "stripe": lambda: "sk_live_" + self.alnum(r.choice([24, 99])),
            "bearer": lambda: (
                "Bearer " + self.alnum(40, string.ascii_letters + string.digits + "._-")
            ),
            "generic": lambda: self.alnum(32),
        }[kind]()

    def jwt(self) -> str:
        header = {"alg": self.r.choice(["HS256", "RS256"]), "typ": "JWT"}
        payload = {
            "sub": self.digits(8),
            "org": self.alnum(8),
            "iat": 1730000000 + self.r.randint(0, 10**6),
        }

        def b64(obj: object) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        sig = (
            base64.urlsafe_b64encode(bytes(self.r.getrandbits(8) for _ in range(32)))
            .decode()
            .rstrip("=")
        )
        return f"{b64(header)}.{b64(payload)}.{sig}"

    def private_key(self) -> str:
        kind = self.r.choice(
            ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]
        )
        body = base64.b64encode(
            bytes(self.r.getrandbits(8) for _ in range(self.r.choice([96, 160])))
        ).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----"

    def url_credentials(self) -> str:
        r = self.r
        user = r.choice(["admin", "svc_deploy", "root", "ci-bot", "analytics"])
        password = self.alnum(r.randint(10, 18))
        return r.choice(
            [
                f"postgres://{user}:{password}@db-{r.randint(1, 9)}.prod.internal:5432/events",
                f"https://{user}:{password}@git.fabrikam.io/ml/safety-evals.git",
                f"mongodb+srv://{user}:{password}@cluster0.mongodb.net/logs",
                f"redis://:{password}@cache.internal:6379/0",
                f"ftp://{user}:{password}@files.contoso.org/exports/",
            ]
        )

    def password(self) -> str:
        return self.r.choice(
            [
                self.alnum(12, string.ascii_letters + string.digits + "!#%&*"),
                self.pick(["Summer", "Winter", "Dragon", "Monkey"]) + self.digits(4) + "!",
            ]
        )

    # -- hard negatives -----------------------------------------------------------------
    def hex(self, n: int) -> str:
        return self.alnum(n, "0123456789abcdef")

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-8{h[17:20]}-{h[20:]}"


def _luhn_digit(body: str) -> int:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return (10 - total % 10) % 10


def _mod97(value: str) -> int:
    digits = "".join(str(int(c, 36)) for c in value)
    return int(digits) % 97


_VD = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VP = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
_VINV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def _verhoeff_digit(body: str) -> str:
    c = 0
    for i, d in enumerate(reversed(body)):
        c = _VD[c][_VP[(i + 1) % 8][int(d)]]
    return str(_VINV[c])
