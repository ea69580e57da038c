#!/usr/bin/env bash
# Renders the softtoken icon (design: softtoken.svg, a white shield with a
# keypad mark on bank blue) into every PNG the stores and `dx bundle` need.
# ImageMagick's SVG reader needs a delegate (rsvg/inkscape) that Debian's
# minimal install lacks, so the same shapes are drawn here with ImageMagick's
# own MVG primitives; keep the two in step when the design changes.
#
# Usage: assets/icons/generate.sh            (writes into the repository)
# Needs: ImageMagick 6 or 7 (`convert`), run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
IM=/usr/bin/convert
[ -x "$IM" ] || IM=convert
BLUE='#0b4f8a'
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The mark (shield outline, inner shield, seven keypad keys) on a 1024 canvas.
mark=(
  -fill white
  -draw "path 'M 512 150 L 790 250 L 790 500 C 790 680 670 800 512 870 C 354 800 234 680 234 500 L 234 250 Z'"
  -fill "$BLUE"
  -draw "path 'M 512 200 L 748 285 L 748 500 C 748 655 648 760 512 822 C 376 760 276 655 276 500 L 276 285 Z'"
  -fill white
  -draw "roundrectangle 356,360 432,436 14,14"
  -draw "roundrectangle 474,360 550,436 14,14"
  -draw "roundrectangle 592,360 668,436 14,14"
  -draw "roundrectangle 356,478 432,554 14,14"
  -draw "roundrectangle 474,478 550,554 14,14"
  -draw "roundrectangle 592,478 668,554 14,14"
  -draw "roundrectangle 474,596 550,672 14,14"
)
# Full-bleed master without alpha (App Store rejects transparent icons).
"$IM" -size 1024x1024 "xc:$BLUE" "${mark[@]}" -alpha off "$work/master.png"
# Adaptive-icon foreground: the mark alone, shrunk into the 66/108 safe zone.
"$IM" -size 1024x1024 xc:none "${mark[@]}" "$work/mark-raw.png"
"$IM" "$work/mark-raw.png" -resize 62% -background none -gravity center \
  -extent 1024x1024 "$work/foreground.png"

png() { # png SIZE OUT [SRC]
  mkdir -p "$(dirname "$2")"
  "$IM" "${3:-$work/master.png}" -filter Lanczos -resize "$1x$1" -depth 8 -strip \
    -define png:exclude-chunks=date,time "$2"
}

# --- iOS: asset catalog (compiled with `xcrun actool` on a Mac, see docs/mobile.md)
set_dir="$here/ios/AppIcon.appiconset"
for s in 20 29 40 58 60 76 80 87 120 152 167 180 1024; do
  png "$s" "$set_dir/icon-$s.png"
done
# Alpha must be absent in every iOS icon, not only the marketing one.
for f in "$set_dir"/*.png; do "$IM" "$f" -alpha off "PNG24:$f"; done

# --- Android: legacy launcher icons per density + adaptive foreground (108 dp)
res="$root/platforms/android/res"
for d in mdpi:48:108 hdpi:72:162 xhdpi:96:216 xxhdpi:144:324 xxxhdpi:192:432; do
  IFS=: read -r dens legacy fg <<<"$d"
  png "$legacy" "$res/mipmap-$dens/softtoken_launcher.png"
  png "$fg" "$res/mipmap-$dens/softtoken_launcher_foreground.png" "$work/foreground.png"
done
# Google Play listing icon (512x512, 32-bit PNG).
png 512 "$here/android/play-store-512.png"

# --- Desktop bundles (`[bundle] icon` in Dioxus.toml)
for s in 32 128 256 512; do png "$s" "$here/desktop/icon-$s.png"; done
echo "icons written under assets/icons and platforms/android/res"
