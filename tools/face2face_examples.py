"""`python tools/face2face_examples.py`: rebuild face2face's ``examples/actor.mp4`` (a maintainer script).

The shipped actor clip (400×300, 48 frames, ~60 kB) is Grace Hopper's photo (``examples/grace_hopper.jpg``)
performing ``synthetic.actor_script``: talking, smiling, surprised, with head roll, shift and zoom. Users never
run this; the CLI, the demo, the benchmark and the tests read the clip that is shipped (the benchmark and the
tests make their own 640×480 clips in memory with the same ``synthetic`` module).
"""

from __future__ import annotations

from deepgallery.apps.face2face.synthetic import EXAMPLES, actor_script, load_photo, make_clip, write_clip


def write_examples() -> None:
    """Rebuild ``examples/actor.mp4``: Grace Hopper performing ``actor_script(48)``, scaled to 400×300."""
    frames, _ = make_clip(load_photo("grace_hopper.jpg"), actor_script(48))
    write_clip(EXAMPLES / "actor.mp4", frames, size=(400, 300))


if __name__ == "__main__":
    write_examples()
    print(f"wrote {EXAMPLES / 'actor.mp4'}")
