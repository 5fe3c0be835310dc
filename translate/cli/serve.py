"""`translate serve`: try catalogue models and run directories in a browser, on a local web page."""

from __future__ import annotations

import logging

import click

from translate.cli.base import setup_logging


@click.command()
@click.argument("runs", nargs=-1, metavar="[RUN...]")
@click.option("--runs", "runs_folder", type=click.Path(), help="Also offer every run directory under this folder.")
@click.option("--no-catalogue", is_flag=True, help="Offer only the run directories, not the catalogue's models.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default is reachable from this machine only.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free port.")
@click.option("--max-upload-mb", type=click.FloatRange(min=0, min_open=True), default=20, show_default=True,
              help="Larger uploads are refused before they are read.")
@click.option("--tile", type=click.IntRange(min=16), default=512, show_default=True,
              help="Images with a side over this many pixels are translated in overlapping tiles of it.")
@click.option("--overlap", type=click.IntRange(min=0), default=32, show_default=True, help="Pixels two tiles share.")
@click.option("--max-pixels", type=click.IntRange(min=1),
              help="Accept images of up to this many pixels (default about 9460 x 9460; larger ones are refused "
                   "from their header as decompression bombs).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in this machine's browser.")
@click.option("--quiet", "-q", is_flag=True, help="Warnings and errors only (no line per translation).")
def serve(runs: tuple[str, ...], runs_folder: str | None, no_catalogue: bool, host: str, port: int,
          max_upload_mb: float, tile: int, overlap: int, max_pixels: int | None, device: str, open_browser: bool,
          quiet: bool) -> None:
    """Try models in a browser: pick a model, drop an image, see input | output, download the result.

    Offers the catalogue's models (those not on this machine are listed with the command that pulls them), the
    run directories RUN... and those under --runs. Ctrl-C stops it.
    """
    from translate.data.transforms import MAX_PIXELS
    from translate.errors import ConfigError
    from translate.serve.server import is_loopback, make_server
    from translate.serve.shelf import Shelf, offers_for

    setup_logging(quiet)
    if overlap >= tile:
        raise ConfigError(f"--overlap {overlap} must be smaller than --tile {tile}")
    shelf = Shelf(offers_for(list(runs), runs_folder, catalogue=not no_catalogue), device=device, tile=tile,
                  overlap=overlap, max_pixels=max_pixels or MAX_PIXELS)
    server = make_server(shelf, host, port, max_upload_bytes=int(max_upload_mb * 1e6))
    usable = sum(row["usable"] for row in shelf.listing())
    if not is_loopback(host):
        logging.getLogger("translate").warning(
            "listening on %s: anyone who can reach this machine's port %d can run models on it", host,
            server.server_address[1])
    click.echo(f"translate serve: {usable} of {len(shelf.offers)} models ready; open {server.url} (Ctrl-C stops)")
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()
