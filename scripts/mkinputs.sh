#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# mkinputs.sh DIR [ROOTFS_MIB] - generate the inputs of
# manifests/examples/acme-gateway.yaml in DIR: a compressible rootfs image
# (text from /usr/share mixed with zeros and random blocks), a tar archive,
# a bootloader blob, a script and a CycloneDX SBOM.
set -eu
dir=$1 mib=${2:-16}
mkdir -p "$dir"
cd "$dir"
# Rootfs: repeat a 1 MiB pattern of text + zeros + random, mib times.
{
	find /usr/share/common-licenses /usr/share/doc -type f -name 'copyright' 2>/dev/null |
		head -200 | xargs cat 2>/dev/null | head -c 524288
	head -c 262144 /dev/zero
	head -c 262144 /dev/urandom
} > block.bin
size=$(wc -c < block.bin)
[ "$size" -ge 1048576 ] || head -c $((1048576 - size)) /dev/zero >> block.bin
i=0
: > rootfs.ext4
while [ $i -lt "$mib" ]; do
	head -c 1048576 block.bin >> rootfs.ext4
	i=$((i + 1))
done
rm -f block.bin
mkdir -p app/bin app/etc
printf '#!/bin/sh\necho acme app\n' > app/bin/acme
printf 'setting=1\n' > app/etc/acme.conf
tar --sort=name --mtime=@0 --owner=0 --group=0 -cf app.tar -C app .
rm -rf app
head -c 65536 /dev/urandom > u-boot.bin
printf '#!/bin/sh\n# migrate settings after install\nexit 0\n' > migrate.sh
cat > sbom.cdx.json <<'JSON'
{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,
 "components":[{"type":"application","name":"acme-app","version":"2.4.1"}]}
JSON
