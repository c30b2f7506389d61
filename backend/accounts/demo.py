"""The demo's agents: who they are and the habits of their kind, the same on every run (a fixed seed).

``backend.demo`` creates them; ``backend.availability.demo`` turns their habits into offered half-hours.
"""

from __future__ import annotations

import random

from backend.accounts.models import Tier

DEMO_DOMAIN = "weft.demo"
AGENT_COUNT = 60
SEED = 20261121

# persona -> (share of agents, typical free windows as (first hour, last hour) local time, weekdays 0=Mon)
HABITS: dict[str, tuple[float, list[tuple[int, int]], list[int]]] = {
    "student": (0.40, [(18, 22)], [0, 1, 2, 3, 4, 5, 6]),
    "parent": (0.25, [(9, 15)], [0, 1, 2, 3, 4]),
    "retiree": (0.20, [(8, 12)], [0, 1, 2, 3, 4, 5]),
    "freelancer": (0.15, [(10, 12), (14, 17), (20, 23)], [0, 2, 4, 5, 6]),
}

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林"]
GIVEN = [
    "芳",
    "伟",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "婷",
    "欣",
]


def demo_agents() -> list[dict[str, object]]:
    """The demo agents, the same on every run (a fixed seed)."""
    rng = random.Random(SEED)
    personas = [name for name, (share, _, _) in HABITS.items() for _ in range(round(share * AGENT_COUNT))]
    agents = []
    for index, persona in enumerate(personas[:AGENT_COUNT], start=1):
        skills = ["general"] + [code for code, chance in (("billing", 0.45), ("tech", 0.35)) if rng.random() < chance]
        tier = rng.choices([Tier.junior, Tier.mid, Tier.senior], weights=[5, 3, 2])[0]
        agents.append(
            {
                "email": f"agent{index:02d}@{DEMO_DOMAIN}",
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else ""),
                "persona": persona,
                "tier": tier,
                "locale": "zh-Hans" if rng.random() < 0.7 else "en",
                "skills": skills,
            }
        )
    return agents
