"""Schoolgate's category taxonomy and the shipped mapping of UT1 categories onto it.

The first group follows the UK Safer Internet Centre's "appropriate filtering" content
categories; the rest are the categories schools write rules about. The `likely-*` categories are
guesses for hosts that are on no list (the host-name classifier); a policy can warn or block them
separately from the listed categories.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str
    kind: str  # "illegal" | "harmful" | "circumvention" | "activity" | "benign" | "help" | "likely"
    description: str = ""


_CATEGORY_LIST: tuple[Category, ...] = (
    # UK Safer Internet Centre categories. The first two are illegal in the UK.
    Category(
        "child-sexual-abuse",
        "Child sexual abuse content",
        "illegal",
        "Content the IWF lists (CAIC); illegal to view, make or distribute.",
    ),
    Category(
        "terrorism",
        "Terrorist content",
        "illegal",
        "Content on the police CTIRU list of unlawful terrorist material.",
    ),
    Category(
        "discrimination",
        "Discrimination",
        "harmful",
        "Promotes unjust or prejudicial treatment on protected characteristics.",
    ),
    Category("drugs", "Drugs and substance abuse", "harmful"),
    Category(
        "extremism",
        "Extremism",
        "harmful",
        "Promotes terrorism and terrorist ideologies, violence or intolerance.",
    ),
    Category("gambling", "Gambling", "harmful"),
    Category("malware-hacking", "Malware and hacking", "harmful"),
    Category("pornography", "Pornography", "harmful"),
    Category("adult", "Adult content", "harmful", "Sexual content short of pornography."),
    Category("piracy", "Piracy and copyright theft", "harmful"),
    Category("self-harm", "Self-harm", "harmful", "Promotes or displays deliberate self-harm."),
    Category("violence", "Violence", "harmful"),
    Category("hate-speech", "Hate speech", "harmful"),
    Category("misinformation", "Mis- and disinformation", "harmful"),
    Category("phishing-scams", "Phishing and scams", "harmful"),
    Category("cheating", "Cheating and academic dishonesty", "harmful"),
    Category("cults", "Cults and sects", "harmful"),
    Category("stalkerware", "Stalkerware and spying tools", "harmful"),
    Category(
        "dangerous-material",
        "Dangerous material",
        "harmful",
        "Weapons, explosives, dangerous chemistry.",
    ),
    # Circumvention: ways round the filter.
    Category("proxy", "Proxies and anonymisers", "circumvention"),
    Category("vpn", "VPNs", "circumvention"),
    Category("doh", "DNS over HTTPS", "circumvention"),
    Category("remote-control", "Remote access", "circumvention"),
    Category("residential-proxy", "Residential proxies", "circumvention"),
    # Activities schools write rules about.
    Category("ai-chat", "AI chat and generators", "activity"),
    Category("social-media", "Social media", "activity"),
    Category("chat", "Chat and messaging", "activity"),
    Category("forums", "Forums", "activity"),
    Category("blogs", "Blogs", "activity"),
    Category("games", "Games", "activity"),
    Category("educational-games", "Educational games", "activity"),
    Category("shopping", "Shopping", "activity"),
    Category("dating", "Dating", "activity"),
    Category("streaming", "Audio and video streaming", "activity"),
    Category("radio", "Radio", "activity"),
    Category("file-sharing", "File sharing and hosting", "activity"),
    Category("downloads", "Software downloads", "activity"),
    Category("webmail", "Webmail", "activity"),
    Category("mobile-phone", "Mobile phone accessories and ringtones", "activity"),
    Category("advertising", "Advertising", "activity"),
    Category("marketing", "Marketing and tracking", "activity"),
    Category("url-shortener", "URL shorteners", "activity"),
    Category("dynamic-dns", "Dynamic DNS", "activity"),
    Category("web-hosting", "Web hosting", "activity"),
    Category("cryptocurrency", "Cryptocurrency and mining", "activity"),
    Category("financial", "Financial", "benign"),
    Category("banking", "Banking", "benign"),
    Category("jobs", "Job search", "benign"),
    Category("news", "News and press", "benign"),
    Category("sports", "Sports", "benign"),
    Category("celebrity", "Celebrity", "benign"),
    Category("astrology", "Astrology", "benign"),
    Category("cooking", "Cooking", "benign"),
    Category("manga", "Manga and comics", "benign"),
    Category("religion", "Religious organisations", "benign"),
    Category("translation", "Translation", "benign"),
    Category("software-updates", "Software updates", "benign"),
    Category("sex-education", "Sex and relationships education", "benign"),
    Category("children", "Sites made for children", "benign"),
    Category("education", "Education", "benign"),
    Category("help", "Help and support services", "help"),
    # Guesses for hosts on no list, from the host name alone (engine/lists/host_classifier.py):
    # a policy may warn or block them, never treat them as proven.
    Category(
        "likely-gambling",
        "Probably gambling (unlisted; guessed from the name)",
        "likely",
        "A host on no list whose name reads like a bookmaker, casino or slots site.",
    ),
    Category(
        "likely-adult",
        "Probably adult content (unlisted; guessed from the name or address)",
        "likely",
        "A host on no list whose name holds explicit sexual terms, or an address matching "
        "UT1's very restrictive adult expression.",
    ),
    Category(
        "likely-vpn",
        "Probably a VPN (unlisted; guessed from the name)",
        "likely",
        "A host on no list whose name reads like a VPN service or server.",
    ),
    Category(
        "likely-proxy",
        "Probably a proxy or anonymiser (unlisted; guessed from the name)",
        "likely",
        "A host on no list whose name reads like a web proxy or unblocker.",
    ),
)

CATEGORIES: dict[str, Category] = {c.id: c for c in _CATEGORY_LIST}
ILLEGAL_CATEGORIES = frozenset(c.id for c in _CATEGORY_LIST if c.kind == "illegal")
CIRCUMVENTION_CATEGORIES = frozenset(c.id for c in _CATEGORY_LIST if c.kind == "circumvention")
LIKELY_CATEGORIES = frozenset(c.id for c in _CATEGORY_LIST if c.kind == "likely")

# Every UT1 category (https://dsi.ut-capitole.fr/blacklists/), including the names that are
# symbolic links to others. `None` means the category is not a content category (it lists
# exceptions or is UT1's own bookkeeping) and is not imported.
UT1_MAPPING: dict[str, str | None] = {
    "adult": "pornography",
    "porn": "pornography",
    "mixed_adult": "adult",
    "lingerie": "adult",
    "agressif": "hate-speech",
    "aggressive": "hate-speech",
    "violence": "violence",
    "ai": "ai-chat",
    "arjel": "gambling",
    "gambling": "gambling",
    "associations_religieuses": "religion",
    "sect": "cults",
    "astrology": "astrology",
    "audio-video": "streaming",
    "radio": "radio",
    "bank": "banking",
    "financial": "financial",
    "bitcoin": "cryptocurrency",
    "cryptojacking": "malware-hacking",
    "blog": "blogs",
    "celebrity": "celebrity",
    "chat": "chat",
    "child": "children",
    "cleaning": "software-updates",
    "cooking": "cooking",
    "dangerous_material": "dangerous-material",
    "dating": "dating",
    "ddos": "malware-hacking",
    "dialer": "malware-hacking",
    "hacking": "malware-hacking",
    "malware": "malware-hacking",
    "phishing": "phishing-scams",
    "stalkerware": "stalkerware",
    "doh": "doh",
    "download": "downloads",
    "drogue": "drugs",
    "drugs": "drugs",
    "dynamic-dns": "dynamic-dns",
    "educational_games": "educational-games",
    "examen_pix": "cheating",
    "tricheur": "cheating",
    "tricheur_pix": "cheating",
    "fakenews": "misinformation",
    "filehosting": "file-sharing",
    "warez": "piracy",
    "forums": "forums",
    "mail": "forums",  # a UT1 link to `forums`, despite the name
    "games": "games",
    "jobsearch": "jobs",
    "manga": "manga",
    "marketingware": "marketing",
    "publicite": "advertising",
    "ads": "advertising",
    "mobile-phone": "mobile-phone",
    "press": "news",
    "proxy": "proxy",
    "redirector": "proxy",
    "strict_redirector": "proxy",
    "strong_redirector": "proxy",
    "vpn": "vpn",
    "residential-proxies": "residential-proxy",
    "remote-control": "remote-control",
    "sexual_education": "sex-education",
    "shopping": "shopping",
    "shortener": "url-shortener",
    "social_networks": "social-media",
    "sports": "sports",
    "translation": "translation",
    "update": "software-updates",
    "webhosting": "web-hosting",
    "webmail": "webmail",
    # Not content categories:
    "liste_blanche": None,  # UT1's own white list
    "liste_bu": None,  # university library white list
    "exceptions_liste_bu": None,
    "reaffected": None,  # domains whose owner changed; informative only
    "special": None,  # UT1's internal list
}


def ut1_category(name: str) -> str | None:
    """Schoolgate category for a UT1 category name; KeyError for a name we do not know."""
    return UT1_MAPPING[name]


# Keyword libraries shipped with Schoolgate (src/schoolgate/data/keywords/<id>.yaml).
TEXT_MODEL_THEMES: tuple[str, ...] = ("self-harm", "bullying", "extremism")
"""Keyword libraries the learned text model also scores (engine/text/model.py)."""

KEYWORD_LIBRARIES: dict[str, str] = {
    "self-harm": "Self-harm and suicide",
    "extremism": "Extremism and radicalisation (PREVENT)",
    "bullying": "Bullying and abuse",
    "sexual": "Sexual content and grooming",
    "drugs": "Drugs",
    "weapons": "Weapons",
    "illegal": "Searches for illegal material",
}
