"""Write deepgallery/apps/lipnet/phonemes.json: every GRID word's phonemes and spoken length from espeak-ng.

    apt-get install -y espeak-ng && python tools/lipnet_phonemes.py
"""

import json
import subprocess

from deepgallery.apps.lipnet.render import ALL_WORDS, HERE, espeak_word


def main() -> None:
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.strip()
    words = {w: espeak_word(w) for w in ALL_WORDS}
    (HERE / "phonemes.json").write_text(json.dumps({"synthesiser": version, "voice": "en-us", "rate_wpm": 175,
                                                    "words": words}, indent=1) + "\n")


if __name__ == "__main__":
    main()
