#!/usr/bin/env bash
# Finishes the iOS app bundle that `dx bundle --ios --release` (dx 0.7.10)
# produced, then signs and packages it. Runs on a Mac with Xcode only.
#
# dx 0.7.10 builds the .app (binary, Info.plist from platforms/ios/Info.plist,
# assets) but has no asset-catalog compiler and no localised InfoPlist.strings,
# and its codesign step uses auto-provisioned development entitlements. This
# script adds what is missing and signs with the release entitlements:
#   1. compiles assets/icons/ios/AppIcon.appiconset with `xcrun actool`
#      (Assets.car + CFBundleIcons merged into Info.plist);
#   2. copies platforms/ios/{ja,en}.lproj (localised home-screen name);
#   3. embeds the App Store provisioning profile;
#   4. signs with platforms/ios/softtoken.entitlements (TEAMID replaced);
#   5. verifies the signature and entitlements, and writes softtoken.ipa.
#
# Usage:
#   TEAM_ID=ABCDE12345 \
#   SIGN_IDENTITY="Apple Distribution: Example Shinkin Bank (ABCDE12345)" \
#   PROFILE=~/Downloads/softtoken_AppStore.mobileprovision \
#   platforms/ios/finish-app.sh target/dx/softtoken/release/ios/Softtoken.app [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
app="${1:?usage: $0 path/to/Softtoken.app [OUT_DIR]}"
out="${2:-$root/target/ios-release}"
: "${TEAM_ID:?set TEAM_ID (10-character Apple team ID)}"
: "${SIGN_IDENTITY:?set SIGN_IDENTITY (codesigning identity name or SHA-1)}"
: "${PROFILE:?set PROFILE (path to the .mobileprovision)}"
[ "$(uname -s)" = Darwin ] || { echo "finish-app.sh: needs macOS with Xcode" >&2; exit 1; }
[ -d "$app" ] || { echo "finish-app.sh: no app bundle at $app" >&2; exit 1; }
case "$TEAM_ID" in [A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9]) ;;
  *) echo "finish-app.sh: TEAM_ID must be 10 upper-case letters/digits" >&2; exit 1 ;;
esac
min_os="$(/usr/libexec/PlistBuddy -c 'Print :MinimumOSVersion' "$here/Info.plist")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. App icon asset catalog.
mkdir -p "$work/Assets.xcassets"
printf '{"info":{"author":"xcode","version":1}}\n' >"$work/Assets.xcassets/Contents.json"
cp -R "$root/assets/icons/ios/AppIcon.appiconset" "$work/Assets.xcassets/"
xcrun actool --compile "$app" --platform iphoneos \
  --minimum-deployment-target "$min_os" --app-icon AppIcon \
  --target-device iphone --target-device ipad \
  --output-partial-info-plist "$work/partial.plist" \
  --errors --warnings "$work/Assets.xcassets" >/dev/null
/usr/libexec/PlistBuddy -c "Merge $work/partial.plist" "$app/Info.plist"

# 2. Localised display names.
cp -R "$here/ja.lproj" "$here/en.lproj" "$app/"

# 3. Provisioning profile.
cp "$PROFILE" "$app/embedded.mobileprovision"

# 4. Release entitlements and signature.
sed "s/TEAMID/$TEAM_ID/g" "$here/softtoken.entitlements" >"$work/softtoken.entitlements"
plutil -lint "$work/softtoken.entitlements" "$app/Info.plist"
codesign --force --timestamp --generate-entitlement-der \
  --sign "$SIGN_IDENTITY" --entitlements "$work/softtoken.entitlements" "$app"

# 5. Verify and package.
codesign --verify --strict --verbose=2 "$app"
codesign -d --entitlements - --xml "$app" >"$work/signed.plist" 2>/dev/null
if grep -q "icloud\|ubiquity" "$work/signed.plist"; then
  echo "finish-app.sh: signed entitlements mention iCloud — refusing" >&2
  exit 1
fi
grep -q "$TEAM_ID.jp.example.softtoken" "$work/signed.plist" ||
  { echo "finish-app.sh: keychain access group missing from the signature" >&2; exit 1; }
mkdir -p "$out" "$work/Payload"
cp -R "$app" "$work/Payload/"
(cd "$work" && zip -qry "$out/softtoken.ipa" Payload)
echo "signed and packaged: $out/softtoken.ipa"
