"""Pseudo-captions: sentences about a real photo written from what the offline detector and classifier see.

No captioned images exist offline (COCO and Flickr8k/30k need downloads), so the shipped model learns from
sentences this module writes about real photographs (the photo corpus and random crops of it): the COCO detector's
objects (counted, sized, placed left / right / middle, and the two largest groups related by "next to", "to the left
of", "above", ...), the ImageNet classifier's confident top class (a daisy, a ladybug, a valley) and simple colour
cues (a blue sky at the top, grass at the bottom, a dark picture). Each photo gets five sentences in different
phrasings, as COCO gives five captions by five people. The sentences are only as true as the detector and the
classifier: they name COCO's 80 classes and ImageNet's 1000 and nothing else (no actions, no attributes beyond
size, place and colour).
"""

from __future__ import annotations

import numpy as np

from .features import EncodedImage

COUNT_WORDS = {1: "a", 2: "two", 3: "three", 4: "four"}
IRREGULAR_PLURALS = {"person": "people", "mouse": "mice", "knife": "knives", "sheep": "sheep", "skis": "skis",
                     "scissors": "scissors", "sports ball": "balls", "tv": "televisions"}
# ImageNet classes that are places: the photo is "in"/"by"/"on" them rather than "of" them.
SCENES = {"alp": "in the mountains", "valley": "in a valley", "lakeshore": "by a lake", "seashore": "on a beach",
          "sandbar": "on a sandbank", "shoal": "by shallow water", "cliff": "by a cliff",
          "promontory": "on a headland", "volcano": "near a volcano", "geyser": "by a geyser",
          "coral reef": "on a coral reef", "breakwater": "by a breakwater", "dam": "by a dam",
          "boathouse": "by a boathouse", "pier": "on a pier", "greenhouse": "in a greenhouse"}
COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink")
MIN_NAMED_SCORE = 0.4  # a detection named in a sentence must score at least this (regions below still align)
MIN_CLASS_PROB = 0.35  # an ImageNet class named in a sentence must have at least this probability
# no colour word for these: skin, fur and feathers read as "orange" or "red" in hue and are not what a person calls
# the thing's colour ("an orange dog")
UNCOLOURED = {"person", "dog", "cat", "horse", "sheep", "cow", "bear", "bird", "elephant", "zebra", "giraffe",
              "teddy bear", "pizza", "donut", "cake", "sandwich", "hot dog", "dining table", "bed", "couch", "chair"}


def plural(noun: str) -> str:
    if noun in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[noun]
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def counted(noun: str, n: int, rng: np.random.Generator) -> str:
    """'a dog', 'two dogs', 'several people' (or 'a group of people')."""
    if n == 1:
        return article(noun)
    if n <= 4:
        return f"{COUNT_WORDS[n]} {plural(noun)}"
    return ("several " if rng.random() < 0.5 else "a group of ") + plural(noun)


def colour_cues(rgb: np.ndarray) -> dict[str, float | list[str]]:
    """Fractions of sky-blue pixels in the top third and of green pixels in the bottom third, the mean brightness,
    and the one or two dominant saturated colour names."""
    import cv2

    small = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    hue, sat, val = hsv[..., 0] * 360 / 256, hsv[..., 1] / 255, hsv[..., 2] / 255
    sky = (hue > 185) & (hue < 250) & (sat > 0.15) & (val > 0.45)
    green = (hue > 65) & (hue < 160) & (sat > 0.25) & (val > 0.2)
    vivid = (sat > 0.35) & (val > 0.25)
    bins = np.digitize(hue, [15, 40, 65, 160, 250, 290, 340])  # red, orange, yellow, green, blue, purple, pink, red
    names = [COLOURS[min(b, 6)] if b < 7 else "red" for b in range(8)]
    shares = {}
    for b in range(8):
        shares[names[b]] = shares.get(names[b], 0.0) + float((vivid & (bins == b)).mean())
    dominant = [c for c, s in sorted(shares.items(), key=lambda kv: -kv[1]) if s > 0.15][:2]
    return {"sky": float(sky[:21].mean()), "grass": float(green[43:].mean()), "brightness": float(val.mean()),
            "colours": dominant}


def box_colour(rgb: np.ndarray, box) -> str | None:
    """The object's colour when one saturated colour clearly dominates the middle of its box (a red umbrella, a
    yellow flower), else None: most objects (people, dogs, tables) get no colour word rather than a wrong one."""
    import cv2

    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    dx, dy = (x2 - x1) / 4, (y2 - y1) / 4
    a, b, c, d = int(max(0, x1 + dx)), int(max(0, y1 + dy)), int(min(w, x2 - dx)), int(min(h, y2 - dy))
    if c - a < 4 or d - b < 4:
        return None
    patch = cv2.resize(np.ascontiguousarray(rgb[b:d, a:c]), (24, 24), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    hue, sat, val = hsv[..., 0] * 360 / 256, hsv[..., 1] / 255, hsv[..., 2] / 255
    vivid = (sat > 0.45) & (val > 0.3)
    bins = np.digitize(hue, [15, 40, 65, 160, 250, 290, 340])
    names = [COLOURS[min(k, 6)] if k < 7 else "red" for k in range(8)]
    shares: dict[str, float] = {}
    for k in range(8):
        shares[names[k]] = shares.get(names[k], 0.0) + float((vivid & (bins == k)).mean())
    best = max(shares, key=shares.get)
    return best if shares[best] > 0.5 else None


def _place(enc: EncodedImage, i: int) -> str:
    x = (enc.boxes[i, 0] + enc.boxes[i, 2]) / 2 / enc.width
    return "on the left" if x < 0.33 else "on the right" if x > 0.67 else "in the middle"


def _relation(enc: EncodedImage, i: int, j: int) -> str:
    """Where box i is relative to box j, in words."""
    ci = (enc.boxes[i, :2] + enc.boxes[i, 2:]) / 2
    cj = (enc.boxes[j, :2] + enc.boxes[j, 2:]) / 2
    dx, dy = (ci[0] - cj[0]) / enc.width, (ci[1] - cj[1]) / enc.height
    if abs(dx) < 0.12 and abs(dy) < 0.12:
        return "with"
    if abs(dy) > abs(dx) * 1.5:
        return "above" if dy < 0 else "below"
    if abs(dx) > 0.3:
        return "to the left of" if dx < 0 else "to the right of"
    return "next to"


def _imagenet_name(name: str) -> str:
    return name.replace("_", " ").lower()


def describe(enc: EncodedImage, rgb: np.ndarray, rng: np.random.Generator, count: int = 5) -> list[str]:
    """`count` different sentences about the photo, each true as far as the detector and the classifier are.

    The first one is the most detailed (every object group counted, the main one placed and, where clear,
    coloured, the scene and the picture's colours): the sentence that tells this photo from others, which the
    retrieval benchmark uses as its query. The others are shorter phrasings in random order."""
    cues = colour_cues(rgb)
    top_name, top_p = enc.imagenet[0] if enc.imagenet else ("", 0.0)
    scene = SCENES.get(top_name) if top_p >= MIN_CLASS_PROB else None
    settings = [s for s in (scene,
                            "on the grass" if cues["grass"] > 0.45 else None,
                            "under a blue sky" if cues["sky"] > 0.45 else None,
                            "in the dark" if cues["brightness"] < 0.18 else None) if s]
    # Objects: groups of one class, largest first; index of each group's largest box.
    groups: dict[str, list[int]] = {}
    for i in range(1, len(enc.labels)):
        if enc.scores[i] < MIN_NAMED_SCORE:
            continue
        groups.setdefault(enc.labels[i], []).append(i)
    order = sorted(groups, key=lambda k: -max(float((enc.boxes[i, 2] - enc.boxes[i, 0]) * (enc.boxes[i, 3] -
                                                    enc.boxes[i, 1])) for i in groups[k]))
    if order:
        main = order[0]
        main_i = max(groups[main], key=lambda i: (enc.boxes[i, 2] - enc.boxes[i, 0]) * (enc.boxes[i, 3] -
                                                                                       enc.boxes[i, 1]))
        area = float((enc.boxes[main_i, 2] - enc.boxes[main_i, 0]) * (enc.boxes[main_i, 3] - enc.boxes[main_i, 1]))
        big = area / (enc.width * enc.height) > 0.4
        subject = counted(main, len(groups[main]), rng)
        second = None
        if len(order) > 1:
            other = order[1]
            other_i = groups[other][0]
            second = f"{_relation(enc, main_i, other_i)} {counted(other, len(groups[other]), rng)}"
        where = _place(enc, main_i) if len(groups[main]) == 1 and not big else ""
        extra = ImageNetAside(top_name, top_p, set(groups))
        hue = box_colour(rgb, enc.boxes[main_i]) if len(groups[main]) == 1 and main not in UNCOLOURED else None
        rest = [counted(g, len(groups[g]), rng) for g in order[1:3]]
        detailed = (f"{article(hue + ' ' + main) if hue else subject}"
                    + (f" {_relation(enc, main_i, groups[order[1]][0])} {' and '.join(rest)}" if rest else
                       f" {where}" if where else "")
                    + (f" {settings[0]}" if settings else ""))
        candidates = [
            f"{'a close-up of ' + subject if big and len(groups[main]) == 1 else subject}",
            f"a photo of {subject}" + (f" {second}" if second else ""),
            f"{subject} {where}".strip(),
            f"there {'is' if len(groups[main]) == 1 else 'are'} {subject}"
            + (f" {rng.choice(settings)}" if settings else f" {where}" if where else ""),
            f"a picture of {subject}" + (f" {second}" if second else f" {settings[0]}" if settings else ""),
            f"{subject}" + (f" {second}" if second else "") + (f" {settings[-1]}" if settings else ""),
            f"an image with {' and '.join(counted(g, len(groups[g]), rng) for g in order[:3])}",
        ]
        if extra.text:
            candidates.append(extra.text)
        if big and len(groups[main]) == 1:
            candidates.append(f"a large {main} {where or 'in the picture'}".strip())
    else:
        colours = cues["colours"]
        tint = " and ".join(colours) if colours else ("dark" if cues["brightness"] < 0.3 else "pale")
        named = _imagenet_name(top_name) if top_p >= MIN_CLASS_PROB and top_name not in SCENES else None
        candidates = []
        if named:
            candidates += [f"a close-up of {article(named)}", f"a photo of {article(named)}",
                           f"{article(named)} in {tint} colours", f"there is {article(named)} in the picture"]
        for s in settings:
            candidates += [f"a view {s}", f"a landscape {s}" if s != "in the dark" else "a dark picture"]
        candidates += [f"a picture in {tint} colours", f"a close-up of something {tint}",
                       f"{article(tint)} picture"]
        detailed = (f"{article(tint)} picture" + (f" of {article(named)}" if named else "")
                    + (f" {settings[0]}" if settings else "")
                    + (" in the dark" if cues["brightness"] < 0.18 and "in the dark" not in settings else ""))
    unique = list(dict.fromkeys(c for c in candidates if c))
    rng.shuffle(unique)
    if order and extra.text:  # the classifier's confident class is always said (the detector may miss it)
        unique.insert(0, unique.pop(unique.index(extra.text)))
    if detailed in unique:
        unique.remove(detailed)
    unique.insert(0, detailed)
    while len(unique) < count:
        unique.append(unique[len(unique) % max(1, len(unique))])
    return unique[:count]


class ImageNetAside:
    """A sentence naming the classifier's confident top class when the detector's classes do not cover it (a tabby
    beside COCO's "cat" adds nothing; an espresso beside a "cup" does)."""

    def __init__(self, name: str, prob: float, detected: set[str]):
        word = _imagenet_name(name)
        ok = prob >= 0.5 and word not in detected and name not in SCENES
        self.text = f"there is {article(word)} in the picture" if ok else ""
