"""`litecnn-publish`: the command line (DESIGN section 2). Parses flags and calls the library.

Exit status: 0 success, 1 error (`error: <message>` on stderr, no traceback unless --debug),
2 usage. On success `export` prints the bundle directory on stdout, `keygen` the public key.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .. import __version__
from .errors import PublishError

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130
# export.EXPORTERS, spelled out so that --help and keygen do not import torch.
EXPORTERS = ("torchscript", "dynamo")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging(args.debug, args.quiet)
    try:
        return args.run(args)
    except PublishError as err:
        _report(err, args.debug, hint=err.hint)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # a bug: say so, and show where with --debug
        _report(err, args.debug, prefix=f"internal error ({type(err).__name__}): ")
    return EXIT_ERROR


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="litecnn-publish",
        description="Publish PyTorch image classifiers as litecnn model bundles.",
        parents=[_common_flags(default=False)],
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The same flags after the command; SUPPRESS keeps a flag given before it.
    common = _common_flags(default=argparse.SUPPRESS)
    _export_parser(commands, common)
    _keygen_parser(commands, common)
    return top


def _common_flags(default: object) -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument(
        "--debug", action="store_true", default=default, help="tracebacks and debug logs"
    )
    flags.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="only warnings and errors"
    )
    return flags


def _export_parser(commands, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "export",
        parents=[common],
        help="checkpoint -> ONNX + manifest + golden outputs + SHA256SUMS [+ signature]",
        description="Export a checkpoint as a bundle; ONNX Runtime must match PyTorch first.",
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="SPEC",
        help="torchvision:NAME, timm:NAME or package.module:Factory",
    )
    p.add_argument("--checkpoint", required=True, type=Path, metavar="CKPT")
    p.add_argument("--labels", required=True, type=Path, metavar="LABELS.json")
    p.add_argument("--name", required=True, help="model name (the repository directory)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--repo", type=Path, metavar="DIR", help="write DIR/NAME/VERSION + LATEST")
    where.add_argument("--out", type=Path, metavar="BUNDLE_DIR", help="write exactly this bundle")
    p.add_argument(
        "--version",
        dest="bundle_version",
        metavar="V",
        help="default: YYYYMMDDTHHMMSSZ-<checkpoint sha256[:6]>",
    )
    p.add_argument("--num-classes", type=int, metavar="N", help="default: the number of labels")
    p.add_argument("--input-size", type=int, default=224, metavar="PX")
    p.add_argument("--resize", type=int, default=256, metavar="PX", help="shorter side, then crop")
    p.add_argument(
        "--mean", type=float, nargs=3, metavar=("R", "G", "B"), help="default: ImageNet's"
    )
    p.add_argument(
        "--std", type=float, nargs=3, metavar=("R", "G", "B"), help="default: ImageNet's"
    )
    p.add_argument("--golden-images", type=Path, metavar="DIR", help="up to 8 .jpg/.png images")
    p.add_argument("--metrics", type=Path, metavar="METRICS.json", help="a JSON object")
    p.add_argument("--sign-key", type=Path, metavar="KEY", help="unencrypted minisign secret key")
    p.add_argument("--exporter", choices=EXPORTERS, default="torchscript")
    p.add_argument("--opset", type=int, help="default: 17 (torchscript), 18 (dynamo)")
    p.add_argument("--atol", type=float, default=1e-4, help="golden tolerance (default 1e-4)")
    p.add_argument("--rtol", type=float, default=1e-3, help="golden tolerance (default 1e-3)")
    p.set_defaults(run=_run_export)


def _keygen_parser(commands, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "keygen",
        parents=[common],
        help="write a minisign key pair KEY (secret, mode 0600, unencrypted) and KEY.pub",
    )
    p.add_argument("--out", required=True, type=Path, metavar="KEY")
    p.set_defaults(run=_run_keygen)


def _run_export(args: argparse.Namespace) -> int:
    from .golden import Preprocess  # these import torch: not for --help or keygen
    from .pipeline import ExportOptions, export_bundle

    preprocess = Preprocess(resize=args.resize, input_size=args.input_size)
    if args.mean:
        preprocess = replace(preprocess, mean=tuple(args.mean))
    if args.std:
        preprocess = replace(preprocess, std=tuple(args.std))

    options = ExportOptions(
        model=args.model,
        checkpoint=args.checkpoint,
        labels=args.labels,
        name=args.name,
        repo=args.repo,
        out=args.out,
        version=args.bundle_version,
        num_classes=args.num_classes,
        preprocess=preprocess,
        golden_images=args.golden_images,
        metrics=args.metrics,
        sign_key=args.sign_key,
        exporter=args.exporter,
        opset=args.opset,
        atol=args.atol,
        rtol=args.rtol,
    )
    published = export_bundle(options)
    logging.getLogger(__name__).info(
        "published %s %s (%s%s)",
        published.name,
        published.version,
        published.digest,
        ", signed" if published.signed else "",
    )
    print(published.path)
    return EXIT_OK


def _run_keygen(args: argparse.Namespace) -> int:
    from .minisign import write_key_pair

    key = write_key_pair(args.out)
    log = logging.getLogger(__name__)
    log.info("wrote %s (secret, keep it private) and %s.pub", args.out, args.out)
    print(key.public_key().encode())
    return EXIT_OK


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return message


def _setup_logging(debug: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logger = logging.getLogger("litecnn")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)


def _report(err: BaseException, debug: bool, prefix: str = "", hint: str | None = None) -> None:
    if debug:
        traceback.print_exception(err, file=sys.stderr)
    print(f"error: {prefix}{err}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    elif not debug and prefix:
        print("hint: run again with --debug for the traceback", file=sys.stderr)
