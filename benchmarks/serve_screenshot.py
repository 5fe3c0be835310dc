"""The README's screenshot of `translate serve`: the page after scenes-shinkai translated a scenes-world photo.

    python -m benchmarks.serve_screenshot --out docs/serve.png

Starts the server in this process on a free loopback port, drives the system's chromium with playwright (pip
install -e ".[serve-test]"; apt-get install chromium), chooses a 384 x 256 photo of a scene the model never saw
(test split) and saves the page once the output is shown, as a 256-colour PNG.
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import threading
from pathlib import Path

from PIL import Image


def scene_photo(path: Path, seed: int) -> Path:
    from translate.data.scenes import render, scene_seed

    Image.fromarray(render(scene_seed(0, "test", seed), (256, 384)).photo).save(path)
    return path


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    from translate.serve.server import make_server
    from translate.serve.shelf import Shelf, offers_for

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/serve.png")
    parser.add_argument("--model", default="scenes-shinkai")
    parser.add_argument("--seed", type=int, default=7, help="Which test scene.")
    args = parser.parse_args()

    server = make_server(Shelf(offers_for([]), device="cpu"), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        photo = scene_photo(Path(folder) / "street.png", args.seed)
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1200, "height": 760})
        page.goto(server.url)
        page.wait_for_selector(f"#model option[value='{args.model}']", state="attached")
        page.select_option("#model", args.model)
        expect(page.locator("#card")).to_contain_text("Licence")
        page.set_input_files("#file", str(photo))
        expect(page.locator("#output")).to_have_js_property("naturalWidth", 384, timeout=60_000)
        shot = page.screenshot(full_page=True)
        browser.close()
    server.shutdown()
    image = Image.open(io.BytesIO(shot)).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out, optimize=True)
    print(f"wrote {args.out} ({image.width} x {image.height}, {Path(args.out).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
