#!/usr/bin/env python3
"""Packages built gluepipe binaries into dist/ in the Terraform registry's layout.

Given the provider executable per platform and the Linux gluepipe-etl binaries, writes:
  terraform-provider-gluepipe_V_<os>_<arch>.zip   the provider as terraform-provider-gluepipe_vV,
                                                  with gluepipe-etl_linux_amd64/_arm64 beside it
  terraform-provider-gluepipe_V_manifest.json     registry manifest (plugin protocol 6.0)
  terraform-provider-gluepipe_V_SHA256SUMS        every zip and the manifest
  terraform-provider-gluepipe_V_SHA256SUMS.sig    only with --gpg-key
  gluepipe-etl_V_linux_<arch>.tar.gz              the ETL alone (the ECS image builds from it)
  gluepipe-etl_V_SHA256SUMS                       the tarballs

Every binary is checked before anything is written: ELF machine of its platform, highest
GLIBC symbol version at most --max-glibc, and for gluepipe-etl the release in its version
marker. Archives are reproducible: entries sorted, every timestamp SOURCE_DATE_EPOCH (default:
the commit time of HEAD), fixed modes and owners.

--mirror DIR also adds this version's zips to DIR as a provider mirror in both layouts at once:
the packed filesystem-mirror layout (<DIR>/registry.terraform.io/gluepipe/gluepipe/<zip>) and the
network mirror protocol (index.json and <V>.json with zh: hashes beside the zips), so DIR can be
used as `filesystem_mirror { path = DIR }` or served over HTTPS as a `network_mirror`.

--dev packages a development build for install tests: the host's glibc is allowed, only the
ETL platforms given are included, and the version label may differ from the binaries' release.
A release never uses it (scripts/release.sh).
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

PROVIDER = "terraform-provider-gluepipe"
ETL = "gluepipe-etl"
ELF_MACHINES = {"amd64": 62, "arm64": 183}
ETL_PLATFORMS = ("linux_amd64", "linux_arm64")
MARKER = re.compile(rb"gluepipe-etl-version=([0-9A-Za-z.+-]{1,64});")
ZIP_EPOCH_MIN = 315532800  # 1980-01-01, the earliest time a zip entry can hold


class PackageError(Exception):
    pass


def elf_facts(path: Path):
    """(e_machine, highest GLIBC_x.y needed or None) of a 64-bit little-endian ELF file."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise PackageError(f"{path}: not a 64-bit little-endian ELF executable")
    machine = struct.unpack_from("<H", data, 18)[0]
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    highest = None
    for (_name, kind, _flags, _addr, offset, _size, link, info, _align, _entsize) in sections:
        if kind != 0x6FFFFFFE:  # SHT_GNU_verneed: the symbol versions the binary needs
            continue
        strtab = sections[link][4]
        entry = offset
        for _ in range(info):
            _ver, cnt, _file, aux, nxt = struct.unpack_from("<HHIII", data, entry)
            at = entry + aux
            for _ in range(cnt):
                _hash, _flags2, _other, name, anext = struct.unpack_from("<IHHII", data, at)
                end = data.index(b"\0", strtab + name)
                text = data[strtab + name:end].decode()
                if text.startswith("GLIBC_2."):
                    version = tuple(int(p) for p in text[len("GLIBC_"):].split("."))
                    highest = max(highest or version, version)
                at += anext
                if anext == 0:
                    break
            entry += nxt
            if nxt == 0:
                break
    return machine, highest


def check_binary(path: Path, platform: str, max_glibc, what: str):
    os_name, arch = platform.split("_", 1)
    if os_name != "linux":
        raise PackageError(f"{what}: only Linux platforms are packaged here, not {platform}")
    machine, highest = elf_facts(path)
    if machine != ELF_MACHINES[arch]:
        raise PackageError(f"{what} {path}: ELF machine {machine}, but {platform} needs {ELF_MACHINES[arch]}")
    if max_glibc is not None and highest is not None and highest > max_glibc:
        shown = ".".join(map(str, highest))
        limit = ".".join(map(str, max_glibc))
        raise PackageError(f"{what} {path}: needs glibc {shown}, newer than the {limit} it must run on")
    return highest


def etl_release(path: Path) -> str:
    found = MARKER.search(path.read_bytes())
    if not found:
        raise PackageError(f"{path}: no gluepipe-etl version marker; is it a gluepipe-etl build?")
    return found.group(1).decode()


def source_date_epoch(repo: Path) -> int:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%ct"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return int(out)
    except (subprocess.CalledProcessError, ValueError, FileNotFoundError):
        return ZIP_EPOCH_MIN


def write_zip(out: Path, entries, epoch: int):
    """entries: (name, bytes, mode), written sorted with one fixed timestamp."""
    stamp = time.gmtime(max(epoch, ZIP_EPOCH_MIN))[:6]
    with zipfile.ZipFile(out, "w") as z:
        for name, body, mode in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix, so the mode below is honoured
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, body, compresslevel=9)


def write_tar_gz(out: Path, entries, epoch: int):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, body, mode in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(body), mode, epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            t.addfile(info, io.BytesIO(body))
    with open(out, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=epoch, compresslevel=9) as g:
        g.write(raw.getvalue())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_sums(out: Path, files):
    out.write_text("".join(f"{sha256(f)}  {f.name}\n" for f in sorted(files, key=lambda f: f.name)))


def parse_pairs(values, what):
    pairs = {}
    for value in values or []:
        platform, sep, path = value.partition("=")
        if not sep or not path:
            raise PackageError(f"--{what} takes PLATFORM=PATH, got {value!r}")
        pairs[platform] = Path(path)
    return pairs


def package(args) -> list:
    repo = Path(__file__).resolve().parent.parent
    version = args.version
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version):
        raise PackageError(f"--version {version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    providers = parse_pairs(args.provider, "provider")
    etls = parse_pairs(args.etl, "etl")
    if not providers:
        raise PackageError("give at least one --provider PLATFORM=PATH")
    want_etl = set(etls) if args.dev else set(ETL_PLATFORMS)
    missing = sorted(want_etl - set(etls))
    if missing or not etls:
        raise PackageError(f"missing --etl for {', '.join(missing) or 'linux_amd64'}")
    unknown = sorted(set(etls) - set(ETL_PLATFORMS))
    if unknown:
        raise PackageError(f"gluepipe-etl runs on {', '.join(ETL_PLATFORMS)}, not {', '.join(unknown)}")
    max_glibc = None if args.dev else tuple(int(p) for p in args.max_glibc.split("."))

    # Check everything before writing anything.
    for platform, path in sorted(etls.items()):
        check_binary(path, platform, max_glibc, "gluepipe-etl")
        release = etl_release(path)
        if release != version and not args.dev:
            raise PackageError(f"{path} is gluepipe-etl {release}, not {version}")
    for platform, path in sorted(providers.items()):
        check_binary(path, platform, max_glibc, "provider")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    epoch = source_date_epoch(repo)
    etl_entries = [(f"{ETL}_{p}", path.read_bytes(), 0o755) for p, path in etls.items()]
    zips = []
    for platform, path in sorted(providers.items()):
        z = out / f"{PROVIDER}_{version}_{platform}.zip"
        write_zip(z, [(f"{PROVIDER}_v{version}", path.read_bytes(), 0o755)] + etl_entries, epoch)
        zips.append(z)
    manifest = out / f"{PROVIDER}_{version}_manifest.json"
    registry_manifest = json.loads((repo / "terraform-registry-manifest.json").read_text())
    manifest.write_text(json.dumps(registry_manifest, indent=2) + "\n")
    sums = out / f"{PROVIDER}_{version}_SHA256SUMS"
    write_sums(sums, zips + [manifest])
    written = zips + [manifest, sums]
    if args.gpg_key:
        sig = out / f"{sums.name}.sig"
        subprocess.run(["gpg", "--batch", "--yes", "--local-user", args.gpg_key, "--detach-sign",
                        "--output", str(sig), str(sums)], check=True)
        written.append(sig)
    else:
        print(f"package: {sums.name} not signed (no --gpg-key); a registry needs the signature", file=sys.stderr)
    tarballs = []
    for platform, path in sorted(etls.items()):
        t = out / f"{ETL}_{version}_{platform}.tar.gz"
        write_tar_gz(t, [(ETL, path.read_bytes(), 0o755)], epoch)
        tarballs.append(t)
    etl_sums = out / f"{ETL}_{version}_SHA256SUMS"
    write_sums(etl_sums, tarballs)
    return written + tarballs + [etl_sums]


def add_to_mirror(mirror: Path, version: str, zips):
    folder = mirror / "registry.terraform.io" / "gluepipe" / "gluepipe"
    folder.mkdir(parents=True, exist_ok=True)
    archives = {}
    for z in zips:
        platform = z.name[len(f"{PROVIDER}_{version}_"):-len(".zip")]
        (folder / z.name).write_bytes(z.read_bytes())
        archives[platform] = {"url": z.name, "hashes": [f"zh:{sha256(z)}"]}
    (folder / f"{version}.json").write_text(json.dumps({"archives": archives}, indent=2, sort_keys=True) + "\n")
    index = folder / "index.json"
    versions = json.loads(index.read_text())["versions"] if index.exists() else {}
    versions[version] = {}
    index.write_text(json.dumps({"versions": versions}, indent=2, sort_keys=True) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", default="dist")
    parser.add_argument("--provider", action="append", metavar="PLATFORM=PATH")
    parser.add_argument("--etl", action="append", metavar="PLATFORM=PATH")
    parser.add_argument("--max-glibc", default="2.17")
    parser.add_argument("--gpg-key")
    parser.add_argument("--dev", action="store_true")
    parser.add_argument("--mirror", metavar="DIR")
    args = parser.parse_args()
    try:
        written = package(args)
        for path in written:
            print(path)
        if args.mirror:
            zips = [p for p in written if p.suffix == ".zip"]
            add_to_mirror(Path(args.mirror), args.version, zips)
    except (PackageError, OSError, struct.error, subprocess.CalledProcessError) as e:
        print(f"package: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
