// Package remedy carries out a knowledge-base workaround on a host: it reads
// the host's network configuration under a root directory (initscripts ifcfg
// files, NetworkManager keyfiles, systemd .link files, netplan YAML,
// /proc/net/bonding and ethtool -k output), turns an entry's structured
// ethtool_offload action into concrete edits of those files plus the runtime
// ethtool commands, applies them atomically with backups recorded per run so
// that a run can be reverted, and verifies whether the workaround is in force
// now and will be after a reboot. Stacks tells which network stacks a host
// uses, so that a diagnosis can say where a workaround is made persistent.
// The file formats themselves are read and edited by internal/netconf.
//
// The package never prints and never exits. Every file it reads or writes
// under the root it was given goes through internal/rootfs (reads through
// an fs.FS, so that no link leads out of the root), and apply and revert
// take turns on a lock of the root's state directory.
package remedy
