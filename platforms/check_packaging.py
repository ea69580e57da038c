#!/usr/bin/env python3
"""Static checks of softtoken's phone packaging (run by scripts/test.d/40-mobile.sh).

Checks, without an Android SDK or a Mac, that Dioxus.toml, the Android
manifest/activity/resources, the iOS Info.plist/entitlements/strings and the
icons agree with each other and keep the hardening of issue 5: no backup,
FLAG_SECURE, only the softtoken://pair and softtoken://txn deep links, no permission beyond
INTERNET and the QR scanner's CAMERA (camera hardware not required; the iOS
camera prompt explained in Japanese and English, no other prompt), no iCloud, icons at the sizes the stores require, only keys that
dx 0.7.10 knows. Exits non-zero with one line per problem.

Usage: python3 platforms/check_packaging.py [REPO_ROOT]
"""
from __future__ import annotations

import json
import plistlib
import re
import struct
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
ANDROID = ROOT / "platforms/android"
IOS = ROOT / "platforms/ios"

# The hosts of the app's softtoken:// links: the pairing link (spec/stk1.md)
# and the transaction link (spec/stk1-txn.md, src/services/txn_link.rs).
LINK_HOSTS = ("pair", "txn")

A = "{http://schemas.android.com/apk/res/android}"
PROBLEMS: list[str] = []

# Keys dx 0.7.10 accepts (packages/cli/src/config/{app,bundle,manifest}.rs
# at tag v0.7.10). Sections not listed here must not appear.
DX_KEYS = {
    "application": {
        "name", "asset_dir", "out_dir", "public_dir", "tailwind_input", "tailwind_output",
        "ios_info_plist", "macos_info_plist", "ios_entitlements", "macos_entitlements",
        "android_manifest", "android_main_activity", "android_min_sdk_version",
    },
    "bundle": {
        "identifier", "publisher", "icon", "resources", "copyright", "category",
        "short_description", "long_description", "external_bin", "deb", "macos", "windows",
        "android", "version", "file_version", "original_file_name", "trademark",
    },
    "deep_links": {"schemes", "hosts", "paths"},
    "permissions": {
        "location", "camera", "microphone", "notifications", "photos", "bluetooth",
        "background-location", "contacts", "calendar", "biometrics", "nfc", "motion",
        "health", "speech", "media-library", "siri", "homekit", "local-network", "nearby-wifi",
    },
    "background": {
        "location", "audio", "fetch", "remote-notifications", "voip", "bluetooth",
        "external-accessory", "processing",
    },
    "ios": {
        "identifier", "publisher", "icon", "resources", "copyright", "category",
        "short_description", "long_description", "deployment_target", "info_plist",
        "entitlements", "plist", "raw", "url_schemes", "background_modes", "document_types",
        "exported_type_identifiers", "imported_type_identifiers", "widget_extensions",
    },
    "android": {
        "identifier", "publisher", "icon", "resources", "copyright", "category",
        "short_description", "long_description", "signing", "min_sdk", "target_sdk",
        "compile_sdk", "lib_name", "features", "manifest", "gradle_dependencies",
        "gradle_plugins", "proguard_rules", "permissions", "raw", "application",
        "url_schemes", "intent_filters", "foreground_service_types", "queries",
    },
    "web": None,  # accepted, not used by the phone builds
    "components": None,
    "macos": None,
    "windows": None,
    "linux": None,
}
BACKUP_DOMAINS = {
    "root", "file", "database", "sharedpref", "external",
    "device_root", "device_file", "device_database", "device_sharedpref",
}
DENSITIES = {"mdpi": (48, 108), "hdpi": (72, 162), "xhdpi": (96, 216),
             "xxhdpi": (144, 324), "xxxhdpi": (192, 432)}
NAME_JA = "ワンタイムパスワード"
# The pairing screen's QR scanner (src/services/scanner.rs) is the only
# reason for a permission beyond the network.
ANDROID_PERMISSIONS = {"android.permission.INTERNET", "android.permission.CAMERA"}
IOS_USAGE = ["NSCameraUsageDescription"]
NAME_EN = "One-Time Password"


def problem(msg: str) -> None:
    PROBLEMS.append(msg)


def check(cond: bool, msg: str) -> bool:
    if not cond:
        problem(msg)
    return cond


def png_info(path: Path) -> tuple[int, int, bool] | None:
    """(width, height, has_alpha) of a PNG, or None if it is not one."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height, _depth, color = struct.unpack(">IIBB", data[16:26])
    return width, height, color in (4, 6) or b"tRNS" in data


def load_dioxus() -> dict:
    path = ROOT / "Dioxus.toml"
    try:
        cfg = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        problem(f"Dioxus.toml: {e}")
        return {}
    for section, value in cfg.items():
        if section not in DX_KEYS:
            problem(f"Dioxus.toml: [{section}] is not a dx 0.7.10 section")
            continue
        allowed = DX_KEYS[section]
        if allowed is not None and isinstance(value, dict):
            for key in value:
                check(key in allowed, f"Dioxus.toml: [{section}] {key} is not a dx 0.7.10 key")
    return cfg


def check_dioxus(cfg: dict, package: dict) -> None:
    app, bundle = cfg.get("application", {}), cfg.get("bundle", {})
    ident = bundle.get("identifier", "")
    check(re.fullmatch(r"[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*){2,}", ident) is not None,
          f"Dioxus.toml: bundle.identifier {ident!r} is not a reverse-DNS id")
    for key in ("android_manifest", "android_main_activity", "ios_info_plist"):
        check((ROOT / app.get(key, "missing")).is_file(),
              f"Dioxus.toml: application.{key} does not name an existing file")
    android = cfg.get("android", {})
    check(android.get("min_sdk") == app.get("android_min_sdk_version"),
          "Dioxus.toml: android.min_sdk must equal application.android_min_sdk_version")
    check(android.get("min_sdk", 0) >= 28, "Dioxus.toml: android.min_sdk below 28")
    check(android.get("target_sdk", 0) >= android.get("min_sdk", 0),
          "Dioxus.toml: android.target_sdk below min_sdk")
    check(cfg.get("deep_links", {}).get("schemes") == ["softtoken"],
          "Dioxus.toml: deep_links.schemes must be exactly [\"softtoken\"]")
    check(not cfg.get("deep_links", {}).get("hosts"),
          "Dioxus.toml: no universal/app-link hosts expected")
    check(not cfg.get("permissions"),
          "Dioxus.toml: no [permissions]: dx uses the hand-written manifest and "
          "Info.plist as they are, the camera permission lives there")
    for icon in bundle.get("icon", []):
        info = png_info(ROOT / icon)
        if check(info is not None, f"Dioxus.toml: bundle icon {icon} is not a PNG"):
            m = re.search(r"(\d+)\.png$", icon)
            if m:
                size = int(m.group(1))
                check(info[:2] == (size, size), f"{icon}: expected {size}x{size}, got {info[:2]}")
    check(package.get("name") == "softtoken", "Cargo.toml: package name changed (plist executable)")


def check_android(cfg: dict) -> None:
    ident = cfg.get("bundle", {}).get("identifier", "")
    try:
        manifest = ET.parse(ANDROID / "AndroidManifest.xml").getroot()
    except (OSError, ET.ParseError) as e:
        problem(f"AndroidManifest.xml: {e}")
        return
    perms = {p.get(A + "name") for p in manifest.iter("uses-permission")}
    check(perms == ANDROID_PERMISSIONS,
          f"AndroidManifest.xml: permissions must be {sorted(ANDROID_PERMISSIONS)}, "
          f"found {sorted(perms)}")
    check_camera_features(manifest)
    app = manifest.find("application")
    if not check(app is not None, "AndroidManifest.xml: no <application>"):
        return
    check(app.get(A + "allowBackup") == "false", "AndroidManifest.xml: allowBackup must be false")
    check(app.get(A + "usesCleartextTraffic") == "false",
          "AndroidManifest.xml: usesCleartextTraffic must be false")
    for attr, root_tag, sections in (
        ("dataExtractionRules", "data-extraction-rules", ("cloud-backup", "device-transfer")),
        ("fullBackupContent", "full-backup-content", (None,)),
    ):
        ref = app.get(A + attr, "")
        m = re.fullmatch(r"@xml/(\w+)", ref)
        if not check(m is not None, f"AndroidManifest.xml: {attr} must reference @xml/…"):
            continue
        path = ANDROID / "res/xml" / f"{m.group(1)}.xml"
        try:
            rules = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            problem(f"{path.relative_to(ROOT)}: {e}")
            continue
        check(rules.tag == root_tag, f"{path.name}: root must be <{root_tag}>")
        check(not list(rules.iter("include")), f"{path.name}: must not <include> anything")
        for section in sections:
            node = rules if section is None else rules.find(section)
            if not check(node is not None, f"{path.name}: <{section}> missing"):
                continue
            excluded = {e.get("domain") for e in node.findall("exclude") if e.get("path") == "."}
            check(excluded >= BACKUP_DOMAINS,
                  f"{path.name}: <{section or root_tag}> does not exclude "
                  f"{sorted(BACKUP_DOMAINS - excluded)}")
    activities = app.findall("activity")
    check(len(activities) == 1, "AndroidManifest.xml: exactly one activity expected")
    if not activities:
        return
    act = activities[0]
    check(act.get(A + "name") == "dev.dioxus.main.MainActivity",
          "AndroidManifest.xml: activity must be dev.dioxus.main.MainActivity (dx 0.7.10)")
    check(act.get(A + "launchMode") == "singleTask",
          "AndroidManifest.xml: launchMode singleTask expected (links reach the running app)")
    lib = cfg.get("android", {}).get("lib_name", "main")
    meta = {m.get(A + "name"): m.get(A + "value") for m in act.findall("meta-data")}
    check(meta.get("android.app.lib_name") == lib,
          f"AndroidManifest.xml: android.app.lib_name must be {lib!r}")
    views = []
    for f in act.findall("intent-filter"):
        actions = {a.get(A + "name") for a in f.findall("action")}
        if "android.intent.action.VIEW" in actions:
            cats = {c.get(A + "name") for c in f.findall("category")}
            data = [(d.get(A + "scheme"), d.get(A + "host")) for d in f.findall("data")]
            views.append((cats, data, f.get(A + "autoVerify")))
    check(len(views) == 1, f"AndroidManifest.xml: one VIEW filter expected, found {len(views)}")
    for cats, data, auto in views:
        check(cats == {"android.intent.category.DEFAULT", "android.intent.category.BROWSABLE"},
              "AndroidManifest.xml: VIEW filter needs DEFAULT and BROWSABLE")
        schemes = cfg.get("deep_links", {}).get("schemes", [])
        want = [(s, host) for s in schemes for host in LINK_HOSTS]
        check(data == want,
              f"AndroidManifest.xml: VIEW filter data {data} != {want}")
        check(auto is None, "AndroidManifest.xml: no autoVerify on a custom scheme")
    res = ANDROID / "res"
    for attr in ("label",):
        ref = app.get(A + attr, "")
        check(ref == "@string/softtoken_app_name", f"AndroidManifest.xml: {attr} {ref!r}")
    for folder, name in (("values", NAME_EN), ("values-ja", NAME_JA)):
        path = res / folder / "softtoken_strings.xml"
        try:
            strings = {s.get("name"): s.text for s in ET.parse(path).getroot().iter("string")}
        except (OSError, ET.ParseError) as e:
            problem(f"{path.relative_to(ROOT)}: {e}")
            continue
        check(strings.get("softtoken_app_name") == name, f"{folder}: app name must be {name!r}")
    check(app.get(A + "icon") == "@mipmap/softtoken_launcher",
          "AndroidManifest.xml: icon must be @mipmap/softtoken_launcher")
    check((res / "mipmap-anydpi-v26/softtoken_launcher.xml").is_file(),
          "adaptive icon mipmap-anydpi-v26/softtoken_launcher.xml missing")
    for dens, (legacy, fg) in DENSITIES.items():
        for name, size in (("softtoken_launcher", legacy), ("softtoken_launcher_foreground", fg)):
            info = png_info(res / f"mipmap-{dens}/{name}.png")
            check(info is not None and info[:2] == (size, size),
                  f"mipmap-{dens}/{name}.png must be a {size}x{size} PNG")
    info = png_info(ROOT / "assets/icons/android/play-store-512.png")
    check(info is not None and info[:2] == (512, 512), "Play Store icon must be 512x512")
    kt = (ANDROID / "MainActivity.kt").read_text(encoding="utf-8")
    secure = kt.find("FLAG_SECURE")
    check(0 <= secure < kt.find("super.onCreate(savedInstanceState)"),
          "MainActivity.kt: FLAG_SECURE must be set before super.onCreate")
    check("setWebContentsDebuggingEnabled(BuildConfig.DEBUG)" in kt,
          "MainActivity.kt: web-view debugging must follow BuildConfig.DEBUG")
    check("setIntent(intent)" in kt, "MainActivity.kt: onNewIntent must store the link")
    check(f"typealias BuildConfig = {ident}.BuildConfig" in kt,
          "MainActivity.kt: BuildConfig package must equal bundle.identifier")
    check("allowFileAccess = false" in kt, "MainActivity.kt: web view file access must be off")


def check_camera_features(manifest: ET.Element) -> None:
    """CAMERA implies a required camera unless the feature says otherwise:
    the app must install on devices without one (they pair through the link)."""
    features = {f.get(A + "name"): f.get(A + "required") for f in manifest.iter("uses-feature")}
    check("android.hardware.camera" in features,
          "AndroidManifest.xml: <uses-feature android.hardware.camera> missing "
          "(CAMERA would make the camera required)")
    for name, required in features.items():
        if name and name.startswith("android.hardware.camera"):
            check(required == "false",
                  f"AndroidManifest.xml: {name} must be required=\"false\"")


def strings_value(text: str, key: str) -> str | None:
    """The value of `"key" = "…";` in an InfoPlist.strings text."""
    m = re.search(r'^"' + re.escape(key) + r'"\s*=\s*"((?:[^"\\]|\\.)*)";', text, re.M)
    return m.group(1) if m else None


def check_camera_prompt(plist: dict) -> None:
    """The only permission prompt is the camera's, explained in both languages."""
    usage = sorted(k for k in plist if k.endswith("UsageDescription"))
    check(usage == IOS_USAGE, f"Info.plist: permission prompts {usage}, expected {IOS_USAGE}")
    base = plist.get("NSCameraUsageDescription", "")
    texts = {}
    for lang in ("ja", "en"):
        path = IOS / f"{lang}.lproj/InfoPlist.strings"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        texts[lang] = strings_value(text, "NSCameraUsageDescription") or ""
        check(len(texts[lang]) >= 20, f"{lang}.lproj: NSCameraUsageDescription missing or too short")
    check("カメラ" in texts["ja"] and "QR" in texts["ja"],
          "ja.lproj: the camera prompt must say in Japanese that the camera reads the QR code")
    # English, except the bank's screen name, quoted in Japanese as elsewhere.
    en_words = texts["en"].replace("「ワンタイムパスワード利用開始」", "")
    check("camera" in en_words.lower() and "QR" in en_words
          and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", en_words) is None,
          "en.lproj: the camera prompt must say in English that the camera reads the QR code")
    check(base == texts["ja"], "Info.plist: NSCameraUsageDescription must be the Japanese text "
          "(development region ja), as in ja.lproj")


def check_ios(cfg: dict, package: dict) -> None:
    ident = cfg.get("bundle", {}).get("identifier", "")
    try:
        plist = plistlib.loads((IOS / "Info.plist").read_bytes())
        ent = plistlib.loads((IOS / "softtoken.entitlements").read_bytes())
    except (OSError, plistlib.InvalidFileException, ValueError) as e:
        problem(f"iOS plist: {e}")
        return
    check(plist.get("CFBundleIdentifier") == ident, "Info.plist: CFBundleIdentifier != bundle id")
    check(plist.get("CFBundleExecutable") == package.get("name"),
          "Info.plist: CFBundleExecutable must be the binary name")
    check(plist.get("CFBundleShortVersionString") == package.get("version"),
          "Info.plist: CFBundleShortVersionString != Cargo.toml version")
    check(plist.get("MinimumOSVersion") == cfg.get("ios", {}).get("deployment_target"),
          "Info.plist: MinimumOSVersion != [ios] deployment_target")
    check(plist.get("CFBundleDisplayName") == NAME_JA, "Info.plist: display name")
    schemes = [s for t in plist.get("CFBundleURLTypes", []) for s in t.get("CFBundleURLSchemes", [])]
    check(schemes == cfg.get("deep_links", {}).get("schemes"),
          f"Info.plist: URL schemes {schemes} != Dioxus.toml deep_links")
    check_camera_prompt(plist)
    ats = plist.get("NSAppTransportSecurity", {})
    check(not any(v is True for v in ats.values()), "Info.plist: ATS exceptions present")
    check("ITSAppUsesNonExemptEncryption" in plist, "Info.plist: export-compliance key missing")
    check(plist.get("UIFileSharingEnabled") is False, "Info.plist: file sharing must be off")
    check(plist.get("CFBundleIconName") == "AppIcon", "Info.plist: CFBundleIconName AppIcon")
    for lang, name in (("en", NAME_EN), ("ja", NAME_JA)):
        path = IOS / f"{lang}.lproj/InfoPlist.strings"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        check(f'"CFBundleDisplayName" = "{name}";' in text, f"{lang}.lproj: display name")
    group = f"TEAMID.{ident}"
    check(ent.get("keychain-access-groups") == [group],
          f"entitlements: keychain-access-groups must be exactly [{group!r}]")
    check(ent.get("application-identifier") == group, "entitlements: application-identifier")
    check(ent.get("get-task-allow") is False, "entitlements: get-task-allow must be false")
    cloud = [k for k in ent if "icloud" in k.lower() or "ubiquity" in k.lower()]
    check(not cloud, f"entitlements: iCloud keys {cloud}")
    iconset = ROOT / "assets/icons/ios/AppIcon.appiconset"
    try:
        contents = json.loads((iconset / "Contents.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        problem(f"AppIcon.appiconset/Contents.json: {e}")
        return
    idioms = set()
    for image in contents.get("images", []):
        size = float(image["size"].split("x")[0]) * int(image["scale"].rstrip("x"))
        info = png_info(iconset / image["filename"])
        ok = info is not None and info[:2] == (round(size), round(size)) and not info[2]
        check(ok, f"AppIcon {image['filename']}: must be {round(size)}px square without alpha")
        idioms.add((image["idiom"], image["size"], image["scale"]))
    for need in (("iphone", "60x60", "2x"), ("iphone", "60x60", "3x"), ("ipad", "76x76", "2x"),
                 ("ipad", "83.5x83.5", "2x"), ("ios-marketing", "1024x1024", "1x")):
        check(need in idioms, f"AppIcon: {need} missing")


def main() -> int:
    try:
        package = tomllib.loads((ROOT / "Cargo.toml").read_text(encoding="utf-8"))["package"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as e:
        print(f"check_packaging: Cargo.toml: {e}")
        return 1
    cfg = load_dioxus()
    check_dioxus(cfg, package)
    check_android(cfg)
    check_ios(cfg, package)
    for p in PROBLEMS:
        print(f"check_packaging: {p}")
    if PROBLEMS:
        print(f"check_packaging: {len(PROBLEMS)} problem(s)")
        return 1
    print("check_packaging: Dioxus.toml, Android and iOS packaging consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
