"""Reference scores from Nature (Mnih et al. 2015), Extended Data Table 2: random play, the professional human
tester, and DQN, for the 49 games of the paper. Human-normalised score = 100 * (agent - random) / (human - random).

Checked value by value (2026-11-25) against two independent public transcriptions of that table (one of the
random/human columns at 0.1 precision, one of the DQN column); Venture's DQN score is 380.0.
"""

from __future__ import annotations

# rom id: (random, human, Nature DQN)
NATURE_SCORES: dict[str, tuple[float, float, float]] = {
    "alien": (227.8, 6875.4, 3069.0),
    "amidar": (5.8, 1675.8, 739.5),
    "assault": (222.4, 1496.4, 3359.0),
    "asterix": (210.0, 8503.3, 6012.0),
    "asteroids": (719.1, 13156.7, 1629.0),
    "atlantis": (12850.0, 29028.1, 85641.0),
    "bank_heist": (14.2, 734.4, 429.7),
    "battle_zone": (2360.0, 37800.0, 26300.0),
    "beam_rider": (363.9, 5774.7, 6846.0),
    "bowling": (23.1, 154.8, 42.4),
    "boxing": (0.1, 4.3, 71.8),
    "breakout": (1.7, 31.8, 401.2),
    "centipede": (2090.9, 11963.2, 8309.0),
    "chopper_command": (811.0, 9881.8, 6687.0),
    "crazy_climber": (10780.5, 35410.5, 114103.0),
    "demon_attack": (152.1, 3401.3, 9711.0),
    "double_dunk": (-18.6, -15.5, -18.1),
    "enduro": (0.0, 309.6, 301.8),
    "fishing_derby": (-91.7, 5.5, -0.8),
    "freeway": (0.0, 29.6, 30.3),
    "frostbite": (65.2, 4334.7, 328.3),
    "gopher": (257.6, 2321.0, 8520.0),
    "gravitar": (173.0, 2672.0, 306.7),
    "hero": (1027.0, 25762.5, 19950.0),
    "ice_hockey": (-11.2, 0.9, -1.6),
    "jamesbond": (29.0, 406.7, 576.7),
    "kangaroo": (52.0, 3035.0, 6740.0),
    "krull": (1598.0, 2394.6, 3805.0),
    "kung_fu_master": (258.5, 22736.2, 23270.0),
    "montezuma_revenge": (0.0, 4366.7, 0.0),
    "ms_pacman": (307.3, 15693.4, 2311.0),
    "name_this_game": (2292.3, 4076.2, 7257.0),
    "pong": (-20.7, 9.3, 18.9),
    "private_eye": (24.9, 69571.3, 1788.0),
    "qbert": (163.9, 13455.0, 10596.0),
    "riverraid": (1338.5, 13513.3, 8316.0),
    "road_runner": (11.5, 7845.0, 18257.0),
    "robotank": (2.2, 11.9, 51.6),
    "seaquest": (68.4, 20181.8, 5286.0),
    "space_invaders": (148.0, 1652.3, 1976.0),
    "star_gunner": (664.0, 10250.0, 57997.0),
    "tennis": (-23.8, -8.9, -2.5),
    "time_pilot": (3568.0, 5925.0, 5947.0),
    "tutankham": (11.4, 167.6, 186.7),
    "up_n_down": (533.4, 9082.0, 8456.0),
    "venture": (0.0, 1187.5, 380.0),
    "video_pinball": (16256.9, 17297.6, 42684.0),
    "wizard_of_wor": (563.5, 4756.5, 3393.0),
    "zaxxon": (32.5, 9173.3, 4977.0),
}


def human_normalized(game: str, score: float) -> float | None:
    """100 * (score - random) / (human - random) with Nature's numbers; None for games not in the paper."""
    if game not in NATURE_SCORES:
        return None
    rnd, human, _ = NATURE_SCORES[game]
    return 100.0 * (score - rnd) / (human - rnd)
