"""Every app, the bad inputs a person gives: a text file named .png, an empty file, a negative number (which argparse
must read as a value, then the flag's own check refuses), an output path that cannot be written. Each must be one
line on stderr, exit 2, no traceback, and nothing left behind (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parent.parent / "deepgallery" / "apps"
ASTRONAUT = APPS / "deepwarp" / "examples" / "astronaut.jpg"
HOPPER = APPS / "face2face" / "examples" / "grace_hopper.jpg"

# (app, argv, a word the message must contain); {bad}: text named .png, {empty}: empty .png, {ok}: a small photo,
# {blocked}: a folder that is really a file, {out}: a free output path
CASES = [
    ("deepdream", ["{bad}", "-o", "{out}.png"], "not a readable image"),
    ("deepdream", ["{empty}", "-o", "{out}.png"], "empty"),
    ("deepdream", ["{ok}", "--steps", "-1", "-o", "{out}.png"], "--steps must be >= 0"),
    ("deepdream", ["{ok}", "--octave-scale", "-1.5e0", "-o", "{out}.png"], "--octave-scale must be > 1"),
    ("deepwarp", ["{bad}", "-o", "{out}.png"], "not a readable image"),
    ("deepwarp", ["{empty}", "-o", "{out}.png"], "empty"),
    ("deepwarp", [ASTRONAUT, "--angle", "-30,0", "-o", "{out}.png"], "25"),
    ("deepwarp", [ASTRONAUT, "-o", "{blocked}/out.png"], "is a file, not a folder"),
    ("face2face", ["--source", "{bad}", "--target", HOPPER, "-o", "{out}.png"], "not a readable"),
    ("face2face", ["--source", HOPPER, "--target", "{empty}", "-o", "{out}.png"], "empty"),
    ("face2face", ["--source", HOPPER, "--target", HOPPER, "--strength", "-1", "-o", "{out}.png"], "--strength"),
    ("face2face", ["--source", HOPPER, "--source-neutral", HOPPER, "--target", ASTRONAUT, "-o", "{blocked}/o.png"],
     "is a file, not a folder"),
    ("pose", ["{bad}", "-o", "{out}.png"], "not a readable"),
    ("pose", ["{empty}", "-o", "{out}.png"], "empty"),
    ("pose", ["{ok}", "--frames", "-1", "-o", "{out}.png"], "--frames"),
    ("style", ["--content", "{bad}", "--style", "{ok}", "-o", "{out}.png"], "not a readable image"),
    ("style", ["--content", "{ok}", "--style", "{empty}", "-o", "{out}.png"], "empty"),
    ("style", ["--content", "{ok}", "--style", "{ok}", "--iterations", "-1", "-o", "{out}.png"], "--iterations"),
    ("ppgn", ["volcano", "--steps", "-1", "-o", "{out}.png"], "steps must be"),
    ("textspot", ["index", "{bad}", "--db", "{out}.sqlite"], "not a readable"),
    ("textspot", ["index", "{empty}", "--db", "{out}.sqlite"], "empty"),
    ("textspot", ["search", "london", "--limit", "-1", "--db", "{out}.sqlite"], "--limit"),
    ("viscoelastic", ["--viscosity", "-1e19", "-o", "{out}.png"], "viscosity"),
    ("viscoelastic", ["--params", "{empty}", "-o", "{out}.png"], ""),
    ("viscoelastic", ["-o", "{blocked}/v.png"], "is a file, not a folder"),
    ("neuralcrypto", ["--seed", "-1", "-o", "{out}.png"], "--seed"),
    ("neuralcrypto", ["--message", "hi", "-o", "{blocked}/p.png"], "is a file, not a folder"),
    ("dqn", ["--episodes", "-1"], "--episodes must be >= 1"),
    ("plankton", ["{bad}"], "not a readable image"),
    ("plankton", ["{empty}"], "empty"),
    ("plankton", ["{ok}", "--top", "-1"], "--top"),
    ("plankton", ["{ok}", "-o", "{blocked}/top.csv"], "is a file, not a folder"),
]


@pytest.mark.parametrize(("app", "argv", "needle"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_is_one_line_exit_2_nothing_written(app, argv, needle, bad_input):
    bad_input(app, argv, needle)


def test_checkpoint_killed_between_tensors_and_json_is_refused(tmp_path):
    """A kill after the new tensors were renamed into place but before the JSON was: the pair no longer matches,
    and `load` says so in one line instead of loading weights with another run's config."""
    import torch

    from deepgallery.core import checkpoint
    from deepgallery.core.errors import UserError

    path = tmp_path / "ckpt"
    checkpoint.save(path, {"w": torch.zeros(3)}, {"width": 3}, meta={"step": 10})
    old_json = (tmp_path / "ckpt.json").read_text()
    checkpoint.save(path, {"w": torch.ones(3)}, {"width": 3}, meta={"step": 20})
    (tmp_path / "ckpt.json").write_text(old_json)  # tensors of step 20, JSON of step 10
    with pytest.raises(UserError, match="SHA-256 mismatch"):
        checkpoint.load(path)


def test_unwritable_output_is_one_user_error_and_leaves_nothing(tmp_path):
    from deepgallery.core.atomic import write_text
    from deepgallery.core.errors import UserError

    (tmp_path / "blocked").write_text("x")
    with pytest.raises(UserError, match="blocked is a file, not a folder"):
        write_text(tmp_path / "blocked" / "deeper" / "out.txt", "hi")
    with pytest.raises(UserError, match="it is a folder"):
        write_text(tmp_path, "hi")
    with pytest.raises(RuntimeError):  # a failure inside the block: the folders made for the file go again
        from deepgallery.core.atomic import atomic_path

        with atomic_path(tmp_path / "new" / "sub" / "out.txt"):
            raise RuntimeError("writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked"]
