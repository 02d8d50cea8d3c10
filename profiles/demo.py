"""Demo people for a development server and for load tests: `manage.py seed_demo`.

Everything is drawn from one `random.Random(seed)`, so the same arguments give the same people,
goals, offers and weeks, byte for byte. People are spread over the world's time zones, write in
several languages, pick skills from the taxonomy, and state goals the way mentees write them
(the phrasing comes from ../shared/seeds, the essays this product grew from).

Rows are written with bulk_create in large batches: 25,000 people with their goals, skills and
weeks take well under two minutes on PostgreSQL (tests/load/bench_seed_demo.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from faker import Faker

from profiles.models import (
    AvailabilityWindow,
    Cadence,
    Expertise,
    Format,
    Goal,
    Level,
    MentorOffer,
    Profile,
    Skill,
    User,
)

DEMO_DOMAIN = "demo.example.org"
DEMO_PASSWORD = "mentor-demo-2026"  # the demo admin's too; seed_demo runs only with DEBUG on
BATCH = 2000
NAME_TRIES = 20  # fresh draws for a taken name before it gets a middle initial


@dataclass(frozen=True)
class Region:
    locale: str
    timezones: tuple[str, ...]
    languages: tuple[str, ...]  # the first is spoken by everyone from here
    cities: tuple[str, ...]
    weight: int


REGIONS: tuple[Region, ...] = (
    Region(
        "en_US",
        ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
        ("en", "es"),
        ("New York", "Chicago", "Denver", "Seattle", "Austin", "Atlanta"),
        16,
    ),
    Region(
        "en_CA",
        ("America/Toronto", "America/Vancouver"),
        ("en", "fr"),
        ("Toronto", "Vancouver", "Montréal"),
        4,
    ),
    Region("es_MX", ("America/Mexico_City",), ("es", "en"), ("Mexico City", "Guadalajara"), 3),
    Region("pt_BR", ("America/Sao_Paulo",), ("pt", "en", "es"), ("São Paulo", "Recife"), 4),
    Region("es_CO", ("America/Bogota",), ("es", "en"), ("Bogotá", "Medellín"), 2),
    Region("es_AR", ("America/Argentina/Buenos_Aires",), ("es", "en"), ("Buenos Aires",), 2),
    Region("en_GB", ("Europe/London",), ("en", "fr"), ("London", "Manchester", "Edinburgh"), 8),
    Region("en_IE", ("Europe/Dublin",), ("en", "ga"), ("Dublin", "Cork"), 2),
    Region("fr_FR", ("Europe/Paris",), ("fr", "en"), ("Paris", "Lyon", "Toulouse"), 4),
    Region("de_DE", ("Europe/Berlin",), ("de", "en"), ("Berlin", "Munich", "Hamburg"), 5),
    Region("es_ES", ("Europe/Madrid",), ("es", "en", "ca"), ("Madrid", "Barcelona"), 3),
    Region("nl_NL", ("Europe/Amsterdam",), ("nl", "en", "de"), ("Amsterdam", "Utrecht"), 2),
    Region("pl_PL", ("Europe/Warsaw",), ("pl", "en"), ("Warsaw", "Kraków"), 2),
    Region("sv_SE", ("Europe/Stockholm",), ("sv", "en"), ("Stockholm",), 1),
    Region("it_IT", ("Europe/Rome",), ("it", "en"), ("Milan", "Rome"), 2),
    Region("en_NG", ("Africa/Lagos",), ("en", "yo"), ("Lagos", "Abuja"), 4),
    Region("en_KE", ("Africa/Nairobi",), ("en", "sw"), ("Nairobi", "Mombasa"), 3),
    Region("zu_ZA", ("Africa/Johannesburg",), ("en", "zu", "af"), ("Johannesburg", "Cape Town"), 2),
    Region("ar_EG", ("Africa/Cairo",), ("ar", "en"), ("Cairo", "Alexandria"), 2),
    Region("en_IN", ("Asia/Kolkata",), ("en", "hi", "ta"), ("Bengaluru", "Pune", "Hyderabad"), 10),
    Region("en_PH", ("Asia/Manila",), ("en", "tl"), ("Manila", "Cebu"), 3),
    Region("en_US", ("Asia/Singapore",), ("en", "zh", "ms"), ("Singapore",), 2),
    Region("ja_JP", ("Asia/Tokyo",), ("ja", "en"), ("Tokyo", "Osaka"), 3),
    Region("ko_KR", ("Asia/Seoul",), ("ko", "en"), ("Seoul",), 2),
    Region("zh_CN", ("Asia/Shanghai",), ("zh", "en"), ("Shanghai", "Shenzhen"), 2),
    Region("ar_AE", ("Asia/Dubai",), ("ar", "en", "hi"), ("Dubai",), 1),
    Region(
        "en_AU", ("Australia/Sydney", "Australia/Melbourne"), ("en",), ("Sydney", "Melbourne"), 4
    ),
    Region("en_NZ", ("Pacific/Auckland",), ("en", "mi"), ("Auckland", "Wellington"), 1),
)

ORGANISATIONS = (
    ("Northwind Health", ("Clinical Systems", "Data Platform", "Patient Apps", "Finance")),
    ("Tidewater Bank", ("Payments", "Risk", "Retail Banking", "Treasury", "People")),
    ("Lumen Labs", ("Research", "Platform", "Developer Experience", "Product")),
    ("Orchard Retail", ("E-commerce", "Supply Chain", "Marketing", "Store Operations")),
    ("Cobalt Energy", ("Grid Analytics", "Field Operations", "Procurement", "Strategy")),
    ("Harbor Public Schools", ("Curriculum", "IT", "Operations")),
    ("Atlas Logistics", ("Routing", "Customer Success", "Finance", "Engineering")),
    ("Kestrel Games", ("Engine", "Live Ops", "Design", "Community")),
    ("Open Source Commons", ("Infrastructure", "Community", "Documentation")),
    ("", ("",)),  # freelancers and people between jobs
)

# Mentor personas: a job title and the skills such a person can teach, strongest first.
PERSONAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Staff engineer",
        ("distributed-systems", "api-design", "python", "go", "observability", "coaching"),
    ),
    (
        "Engineering manager",
        ("one-on-ones", "hiring", "delegation", "team-building", "receiving-feedback", "python"),
    ),
    (
        "Principal engineer",
        ("refactoring", "distributed-systems", "java", "kubernetes", "strategic-thinking"),
    ),
    ("Front-end lead", ("react", "typescript", "javascript", "accessibility", "design-systems")),
    ("Mobile engineer", ("ios-development", "swift", "kotlin", "android-development", "debugging")),
    (
        "Site reliability engineer",
        ("kubernetes", "aws", "observability", "linux", "infrastructure-as-code", "devops"),
    ),
    (
        "Data scientist",
        ("data-science", "statistics", "python", "machine-learning", "storytelling"),
    ),
    ("Data engineer", ("data-engineering", "sql", "apache-spark", "data-modelling", "python")),
    (
        "Machine learning engineer",
        ("machine-learning", "deep-learning", "mlops", "python", "natural-language-processing"),
    ),
    (
        "Analytics manager",
        ("data-analysis", "sql", "excel", "product-analytics", "storytelling", "hiring"),
    ),
    (
        "Product manager",
        (
            "product-management",
            "prioritization",
            "customer-interviews",
            "roadmapping",
            "product-sense",
        ),
    ),
    (
        "Director of product",
        ("product-strategy", "setting-a-vision", "executive-presence", "pricing", "hiring"),
    ),
    (
        "UX researcher",
        ("user-research", "usability-testing", "customer-interviews", "storytelling"),
    ),
    (
        "Product designer",
        ("ux-design", "interaction-design", "figma", "design-critique", "prototyping"),
    ),
    (
        "Program manager",
        ("program-management", "risk-management", "okrs", "agile", "business-writing"),
    ),
    (
        "Technical program manager",
        ("technical-program-management", "release-management", "scrum", "risk-management"),
    ),
    (
        "Head of operations",
        ("business-operations", "procurement", "okrs", "decision-making", "leading-change"),
    ),
    (
        "Finance director",
        ("financial-modelling", "budgeting", "forecasting", "corporate-finance", "unit-economics"),
    ),
    ("Controller", ("accounting", "audit", "tax", "treasury", "compliance")),
    (
        "VP of engineering",
        ("setting-a-vision", "leading-change", "executive-presence", "hiring", "team-culture"),
    ),
    (
        "Chief of staff",
        (
            "strategic-thinking",
            "decision-making",
            "navigating-ambiguity",
            "business-writing",
            "okrs",
        ),
    ),
    ("Recruiter", ("hiring", "job-search", "linkedin-profile", "cover-letters", "negotiation")),
    (
        "Career coach",
        (
            "job-search",
            "promotion",
            "self-assessment",
            "internal-mobility",
            "confidence",
            "impostor-syndrome",
        ),
    ),
    (
        "Sales director",
        ("b2b-sales", "negotiation", "account-management", "crm-tools", "storytelling"),
    ),
    (
        "Marketing lead",
        ("marketing-strategy", "content-marketing", "digital-marketing", "branding", "copywriting"),
    ),
    (
        "Founder",
        ("product-market-fit", "business-plans", "bootstrapping", "investor-relations", "pricing"),
    ),
    (
        "Freelance consultant",
        ("freelancing", "consulting", "negotiation", "personal-branding", "time-management"),
    ),
    ("Technical writer", ("technical-writing", "editing", "writing-for-the-web", "content-design")),
    (
        "People partner",
        (
            "coaching",
            "receiving-feedback",
            "nonviolent-communication",
            "burnout-recovery",
            "setting-boundaries",
        ),
    ),
    (
        "Financial planner",
        ("saving", "buying-a-home", "personal-taxes", "credit-score", "insurance"),
    ),
)

# Goals as mentees write them: a title, a few sentences, and the skills they are about.
GOALS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Get promoted to senior engineer this year",
        "My manager says I am close but I don't know what 'operating at the next level' means in practice. I want to understand what to change and build a case.",
        ("promotion", "distributed-systems", "api-design"),
    ),
    (
        "Move from customer support into data analysis",
        "I've been in support for three years and I love digging into why tickets happen. I'm learning SQL at night and want a plan for the switch.",
        ("data-analysis", "sql", "internal-mobility"),
    ),
    (
        "Become a confident first-time manager",
        "I was promoted to lead a team of five last month. One-on-ones feel awkward and I keep doing the work myself instead of delegating.",
        ("one-on-ones", "delegation", "receiving-feedback"),
    ),
    (
        "Prepare for system design interviews",
        "I have interviews lined up in six weeks and system design is my weak spot. I'd like someone to run mock interviews with me.",
        ("distributed-systems", "api-design", "job-search"),
    ),
    (
        "Learn to say no without feeling guilty",
        "I take on everything and I'm close to burning out. I want to set boundaries at work and still be seen as a team player.",
        ("setting-boundaries", "assertiveness", "burnout-recovery"),
    ),
    (
        "Ship my first machine learning model to production",
        "I've trained models in notebooks but never deployed one. I want to understand monitoring, retraining and what can go wrong.",
        ("machine-learning", "mlops", "python"),
    ),
    (
        "Get better at presenting to executives",
        "My updates to leadership run long and I lose the room. I want to learn to lead with the decision and handle tough questions.",
        ("executive-presence", "storytelling", "business-writing"),
    ),
    (
        "Switch careers into UX design",
        "After eight years as a teacher I'm retraining in UX. I have a bootcamp portfolio but no idea how to land a first role.",
        ("ux-design", "user-research", "first-job"),
    ),
    (
        "Build a budget and forecast for my department",
        "I've just been handed a budget for the first time. I want to build a forecast I can defend and understand where the money goes.",
        ("budgeting", "forecasting", "financial-modelling"),
    ),
    (
        "Run better product discovery",
        "We build features nobody uses. I want to talk to customers properly and turn what I hear into a roadmap.",
        ("customer-interviews", "product-management", "roadmapping"),
    ),
    (
        "Negotiate my salary for a new offer",
        "I have an offer and I've never negotiated. I don't want to leave money on the table or lose the offer.",
        ("negotiation", "job-search", "confidence"),
    ),
    (
        "Get past impostor syndrome in my new role",
        "I joined a team of very senior people and I feel like a fraud in every meeting. I'd love to talk to someone who has been there.",
        ("impostor-syndrome", "confidence", "resilience"),
    ),
    (
        "Learn Kubernetes well enough to run our platform",
        "Our team is moving off VMs and I'm the one who has to make it work. I know Docker but Kubernetes feels huge.",
        ("kubernetes", "docker", "devops"),
    ),
    (
        "Start freelancing on the side",
        "I want to test freelancing before I quit my job: finding the first clients, pricing, contracts.",
        ("freelancing", "pricing", "consulting"),
    ),
    (
        "Write clearer design documents",
        "My docs get long comment threads because people don't understand what I'm proposing. I want to write so decisions get made.",
        ("technical-writing", "business-writing", "decision-making"),
    ),
    (
        "Grow from analyst to data science",
        "I'm strong in SQL and Excel and want to learn statistics and Python properly so I can build models, not just reports.",
        ("data-science", "statistics", "python"),
    ),
    (
        "Lead a cross-team program without authority",
        "I've been asked to coordinate a launch across four teams who don't report to me. I need to keep it on track without being the bad guy.",
        ("program-management", "risk-management", "building-trust"),
    ),
    (
        "Find product-market fit for my side project",
        "I have a small SaaS with a few users who like it. I don't know if I should keep going, pivot, or stop.",
        ("product-market-fit", "side-projects", "customer-interviews"),
    ),
    (
        "Make my first hires",
        "I'm hiring two engineers for the first time. I want a fair interview process and to avoid hiring people just like me.",
        ("hiring", "team-building", "onboarding"),
    ),
    (
        "Get my finances in order to buy a home",
        "I'd like to buy a flat in two or three years. I need a saving plan and to understand mortgages and my credit score.",
        ("buying-a-home", "saving", "credit-score"),
    ),
    (
        "Give feedback that people act on",
        "When I give feedback people either get defensive or nothing changes. I want to get better at hard conversations.",
        ("receiving-feedback", "nonviolent-communication", "coaching"),
    ),
    (
        "Improve the accessibility of our app",
        "We failed an accessibility audit. I want to understand WCAG and build habits into our design and front-end work.",
        ("accessibility", "react", "ux-design"),
    ),
    (
        "Move into product management from engineering",
        "I keep being drawn to the why rather than the how. I want to know if PM suits me and how to make the move internally.",
        ("product-management", "internal-mobility", "product-sense"),
    ),
    (
        "Work abroad in the next two years",
        "I'd like to move to Europe or Canada for work. What do companies look for and how do I make my CV stand out?",
        ("working-abroad", "job-search", "linkedin-profile"),
    ),
    (
        "Manage my time across too many projects",
        "I'm on four projects and always behind. I want a system for priorities that I can actually keep.",
        ("time-management", "prioritization", "focus"),
    ),
    (
        "Learn to read a P&L and talk numbers",
        "As a new team lead I'm in finance meetings and can't follow. I want to understand unit economics and margins.",
        ("unit-economics", "accounting", "corporate-finance"),
    ),
    (
        "Get started with open source",
        "I'd like to contribute to an open-source project to learn and build a public track record, but I don't know where to start.",
        ("open-source", "git", "python"),
    ),
    (
        "Build a personal brand as a designer",
        "I do good work but nobody outside my company knows it. I want to write and share without feeling like I'm bragging.",
        ("personal-branding", "blogging", "networking"),
    ),
    (
        "Recover from burnout and find my motivation again",
        "I came back from leave and I don't feel the spark. I want to rebuild routines and figure out what I want next.",
        ("burnout-recovery", "building-habits", "work-life-balance"),
    ),
    (
        "Close bigger B2B deals",
        "I'm good at small accounts but I stall on enterprise deals with many stakeholders.",
        ("b2b-sales", "negotiation", "account-management"),
    ),
    (
        "Design a metrics framework for my product",
        "We track dozens of numbers but nobody agrees which ones matter. I want a north-star metric and a dashboard people use.",
        ("product-analytics", "okrs", "data-analysis"),
    ),
    (
        "Lead my team through a reorganisation",
        "Our department is being merged with another. I need to keep people informed and motivated while I don't know all the answers.",
        ("leading-change", "navigating-ambiguity", "team-culture"),
    ),
    (
        "Get a grant for our community project",
        "We run a coding club for teenagers and need funding. I've never written a grant application.",
        ("grant-writing", "storytelling", "budgeting"),
    ),
    (
        "Learn Rust for systems programming",
        "I write Python all day and want to learn Rust properly: ownership, async, and when it is worth it.",
        ("rust", "c-and-c", "embedded-systems"),
    ),
    (
        "Prepare for a director-level interview",
        "I'm in the final round for a director role. I want to practise talking about strategy and the teams I've built.",
        ("setting-a-vision", "executive-presence", "job-search"),
    ),
)

MENTEE_HEADLINES = (
    "{title} at {org}",
    "{title}, learning {skill}",
    "{title} looking to grow into {next}",
    "Aspiring {next}",
    "{title} ({years} years in)",
)
MENTEE_TITLES = (
    ("Junior developer", "senior engineer"),
    ("Software engineer", "tech lead"),
    ("Support specialist", "data analyst"),
    ("Data analyst", "data scientist"),
    ("Associate product manager", "product manager"),
    ("UX designer", "design lead"),
    ("Project coordinator", "program manager"),
    ("New team lead", "engineering manager"),
    ("Marketing associate", "marketing lead"),
    ("Account executive", "sales manager"),
    ("Finance analyst", "finance manager"),
    ("Teacher retraining in tech", "UX designer"),
    ("Graduate engineer", "software engineer"),
    ("Operations analyst", "head of operations"),
)
MENTOR_BIOS = (
    "I've spent {years} years in {field}, most recently as {title_lower} at {org}. Someone "
    "took a chance on me early on and I try to pass that on.",
    "Mentoring has taught me as much as it has taught my mentees. I like concrete goals, honest "
    "conversations and small experiments we can review the next time we meet.",
    "Ask me about {skill_a}, {skill_b} and how to get unstuck when the path isn't clear. I "
    "prefer you come with an agenda, even a short one.",
    "I grew up in {city} and have worked across three countries, so I'm happy to talk about "
    "working abroad and in distributed teams too.",
    "The best mentoring relationships I've had were built on clear expectations from the first "
    "meeting: what you want to achieve, and how we will know it worked.",
)
MENTEE_BIOS = (
    "I'm a {title_lower} in {city}. {goal_sentence}",
    "I learn best by doing and I come prepared. {goal_sentence}",
    "{goal_sentence} I'm happy to meet early or late to make time zones work.",
)


def _band(days: Sequence[int], start: int, end: int) -> list[tuple[int, int, int]]:
    return [(day, start, end) for day in days]


def _week(rng: random.Random) -> list[tuple[int, int, int]]:
    """A plausible week in the person's own time: evenings, lunch breaks, mornings or a weekend
    slot, on half-hour boundaries."""
    shape = rng.randrange(5)
    days = sorted(rng.sample(range(5), rng.randint(2, 4)))
    if shape == 0:  # evenings after work
        start = rng.choice((17 * 60, 17 * 60 + 30, 18 * 60, 19 * 60))
        windows = _band(days, start, start + rng.choice((90, 120, 150)))
    elif shape == 1:  # mornings before the day starts
        start = rng.choice((7 * 60, 7 * 60 + 30, 8 * 60))
        windows = _band(days, start, start + rng.choice((60, 90, 120)))
    elif shape == 2:  # lunch
        windows = _band(days, 12 * 60, 13 * 60 + rng.choice((0, 30)))
    elif shape == 3:  # a work-hours block (mentors whose company gives them time)
        start = rng.choice((9 * 60, 10 * 60, 14 * 60, 15 * 60))
        windows = _band(days, start, start + rng.choice((120, 180)))
    else:  # scattered
        windows = [
            (day, start, start + rng.choice((60, 90)))
            for day in days
            for start in (rng.choice((8, 11, 13, 16, 18)) * 60,)
        ]
    if rng.random() < 0.3:  # a weekend slot
        start = rng.choice((9, 10, 14, 16)) * 60
        windows.append((rng.choice((5, 6)), start, start + 120))
    return windows


@dataclass
class Person:
    email: str
    name: str
    profile: Profile
    goals: list[tuple[Goal, list[str]]]
    offer: MentorOffer | None
    expertise: list[tuple[str, int, int]]
    week: list[tuple[int, int, int]]


class Generator:
    """Deterministic demo people: the same seed gives the same people in the same order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        self.seed = seed
        self.region_weights = [region.weight for region in REGIONS]
        self.used_names: set[str] = set()

    def faker(self, locale: str) -> Faker:
        if locale not in self.fakers:
            fake = Faker(locale)
            # Seeded per locale: en_CA, en_AU and others use en_US's name lists, and with one
            # seed they would draw the same names in the same order.
            fake.seed_instance(f"{self.seed}:{locale}")
            self.fakers[locale] = fake
        return self.fakers[locale]

    def name(self, region: Region) -> str:
        """A full name nobody else of this seed has: a taken name is drawn again, and after a few
        tries gets a middle initial (en_NG knows only 40 first and 20 last names). Every draw
        comes from the locale's seeded faker, so the same seed still gives the same names."""
        fake = self.faker(region.locale)
        tries = 0
        while True:
            first, last = fake.first_name(), fake.last_name()
            name = f"{first} {last}"
            if tries >= NAME_TRIES:
                name = f"{first} {fake.random_uppercase_letter()}. {last}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
            tries += 1

    def email(self, name: str, role: str, index: int) -> str:
        local = slugify(name).replace("-", ".") or "member"
        return f"{local}.{role}{index}@{DEMO_DOMAIN}"

    def common(self, name: str, region: Region, *, senior: bool) -> Profile:
        rng = self.rng
        languages = [region.languages[0]]
        languages += [code for code in region.languages[1:] if rng.random() < 0.55]
        if "en" not in languages and rng.random() < 0.8:
            languages.append("en")
        org, departments = rng.choice(ORGANISATIONS)
        years = rng.randint(8, 30) if senior else rng.randint(0, 9)
        if senior:
            level = Level.EXECUTIVE if years >= 20 and rng.random() < 0.4 else Level.SENIOR
        else:
            level = Level.EARLY if years < 3 else Level.MID
        return Profile(
            timezone=rng.choice(region.timezones),
            languages=languages,
            organisation=org,
            department=rng.choice(departments),
            years_experience=years,
            level=level,
            city=rng.choice(region.cities),
        )

    def mentor(self, index: int) -> Person:
        rng = self.rng
        region = rng.choices(REGIONS, self.region_weights)[0]
        name = self.name(region)
        profile = self.common(name, region, senior=True)
        title, skills = rng.choice(PERSONAS)
        taught = list(skills[: rng.randint(3, len(skills))])
        profile.is_mentor = True
        profile.is_mentee = rng.random() < 0.1  # some mentors want a mentor too
        profile.headline = f"{title}{' at ' + profile.organisation if profile.organisation else ''}"
        values = {
            "years": profile.years_experience,
            "field": taught[0].replace("-", " "),
            "title_lower": title.lower(),
            "org": profile.organisation or "my own practice",
            "skill_a": taught[0].replace("-", " "),
            "skill_b": taught[1].replace("-", " "),
            "city": profile.city,
        }
        profile.bio = "\n\n".join(p.format(**values) for p in rng.sample(MENTOR_BIOS, 2))
        offer = MentorOffer(
            capacity=rng.choice((1, 2, 2, 3, 3, 4, 5)),
            hours_per_month=rng.choice((2, 3, 4, 4, 6, 8)),
            formats=sorted(rng.sample(Format.values, rng.randint(1, 3))),
            cadences=sorted(rng.sample(Cadence.values, rng.randint(1, 3))),
            open_to_peer=rng.random() < 0.35,
            open_to_reverse=rng.random() < 0.15,
            accepting_requests=rng.random() < 0.9,
        )
        # Strongest in the persona's first skills: level 5 or 4 first, down to 2 or 3.
        expertise = [
            (
                slug,
                max(2, min(5, 5 - position // 2 - rng.randint(0, 1))),
                min(profile.years_experience, rng.randint(2, 15)),
            )
            for position, slug in enumerate(taught)
        ]
        goals = self.goals(profile, count=1) if profile.is_mentee else []
        return Person(
            self.email(name, "mentor", index), name, profile, goals, offer, expertise, _week(rng)
        )

    def mentee(self, index: int) -> Person:
        rng = self.rng
        region = rng.choices(REGIONS, self.region_weights)[0]
        name = self.name(region)
        profile = self.common(name, region, senior=False)
        profile.is_mentee = True
        title, next_step = rng.choice(MENTEE_TITLES)
        goals = self.goals(profile, count=rng.choices((1, 2, 3), (5, 3, 1))[0])
        first_goal = goals[0][0]
        profile.headline = rng.choice(MENTEE_HEADLINES).format(
            title=title,
            org=profile.organisation or "a small start-up",
            skill=goals[0][1][0].replace("-", " "),
            next=next_step,
            years=profile.years_experience,
        )
        profile.bio = rng.choice(MENTEE_BIOS).format(
            title_lower=title.lower(),
            city=profile.city,
            goal_sentence=first_goal.description.split(". ")[0].rstrip(".") + ".",
        )
        return Person(self.email(name, "mentee", index), name, profile, goals, None, [], _week(rng))

    def goals(self, profile: Profile, count: int) -> list[tuple[Goal, list[str]]]:
        rng = self.rng
        chosen = rng.sample(GOALS, count)
        goals = []
        for position, (title, description, skills) in enumerate(chosen):
            status = Goal.Status.OPEN
            if position > 0 and rng.random() < 0.2:
                status = rng.choice((Goal.Status.ACHIEVED, Goal.Status.DROPPED))
            goal = Goal(
                title=title,
                description=description,
                format=rng.choice(Format.values),
                cadence=rng.choices(Cadence.values, (3, 5, 2))[0],
                status=status,
            )
            goals.append((goal, list(skills[: rng.randint(2, len(skills))])))
        return goals


def _bulk(model, objects: Iterable) -> list:
    return model.objects.bulk_create(list(objects), batch_size=BATCH)


@transaction.atomic
def seed_people(*, mentors: int, mentees: int, seed: int) -> tuple[int, int]:
    """Create the demo people that are not there yet; return (created, kept).

    Idempotent: the same arguments give the same email addresses, and people already present are
    kept as they are (edits made while clicking through survive a second `make run`)."""
    generator = Generator(seed)
    people = [generator.mentor(i) for i in range(1, mentors + 1)]
    people += [generator.mentee(i) for i in range(1, mentees + 1)]
    existing = set(
        User.objects.filter(email__in=[p.email for p in people]).values_list("email", flat=True)
    )
    new = [p for p in people if p.email not in existing]
    if not new:
        return 0, len(existing)

    password = make_password(DEMO_PASSWORD)  # hashed once: hashing 25,000 times takes minutes
    now = timezone.now()
    users = _bulk(
        User,
        (User(email=p.email, name=p.name, password=password, date_joined=now) for p in new),
    )
    _bulk(
        EmailAddress,
        (EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users),
    )
    for person, user in zip(new, users, strict=True):
        person.profile.user = user
        person.profile.onboarded_at = now
        if person.offer:
            person.offer.user = user
        for goal, _ in person.goals:
            goal.owner = user
    _bulk(Profile, (p.profile for p in new))
    _bulk(MentorOffer, (p.offer for p in new if p.offer))

    skills = dict(Skill.objects.values_list("slug", "id"))
    _bulk(
        Expertise,
        (
            Expertise(user=p.profile.user, skill_id=skills[slug], level=level, years=years)
            for p in new
            for slug, level, years in p.expertise
            if slug in skills
        ),
    )
    goals = _bulk(Goal, (goal for p in new for goal, _ in p.goals))
    slugs = [slugs for p in new for _, slugs in p.goals]
    through = Goal.skills.through
    _bulk(
        through,
        (
            through(goal_id=goal.pk, skill_id=skills[slug])
            for goal, goal_slugs in zip(goals, slugs, strict=True)
            for slug in goal_slugs
            if slug in skills
        ),
    )
    _bulk(
        AvailabilityWindow,
        (
            AvailabilityWindow(user=p.profile.user, weekday=d, start_minute=s, end_minute=e)
            for p in new
            for d, s, e in sorted(set(p.week))
        ),
    )
    return len(new), len(existing)
