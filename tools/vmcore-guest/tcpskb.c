// SPDX-License-Identifier: GPL-2.0
/*
 * tcpskb.ko - the seed's bug on a real TCP socket, for tools/gen-vmcores.sh (trigger tcpskb).
 *
 * A netfilter NF_INET_POST_ROUTING hook takes the first TCP segment with payload sent
 * to port `port` and corrupts it the way the seed's skb was corrupt: data_len says
 * that the payload is in page fragments, but there are none (nr_frags 0, no
 * frag_list), while ip_summed stays CHECKSUM_PARTIAL with TCP's own csum_start and
 * csum_offset. The hook then returns NF_ACCEPT and is gone from the stack: the
 * segment goes on to a device without checksum offload (the guest turns veth0's
 * tx-checksumming off), where __dev_queue_xmit -> validate_xmit_skb ->
 * skb_csum_hwoffload_help -> skb_checksum_help -> skb_checksum -> __skb_checksum
 * runs out of fragments with the payload's bytes still to sum: BUG_ON(len),
 * "kernel BUG at net/core/skbuff.c:NNNN!", in the sending process's write(), the
 * skb still owned by its socket (skb->sk).
 *
 * The skb is printed with %px and kept in the exported global tcpskb_bad_skb so
 * that a test can find it in the dump by symbol.
 */
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/skbuff.h>
#include <linux/sched.h>
#include <net/net_namespace.h>
#include <net/sock.h>

static ushort port = 7777;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "TCP destination port whose first data segment is corrupted");

struct sk_buff *tcpskb_bad_skb;
EXPORT_SYMBOL(tcpskb_bad_skb);

static unsigned int tcpskb_hook(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct tcphdr *th;
	unsigned int hdrs, payload, frags;

	if (READ_ONCE(tcpskb_bad_skb) || iph->protocol != IPPROTO_TCP)
		return NF_ACCEPT;
	th = tcp_hdr(skb);
	if (ntohs(th->dest) != port)
		return NF_ACCEPT;
	/* the IP and TCP headers: what stays in the linear part */
	hdrs = skb_transport_offset(skb) + th->doff * 4;
	if (skb->len <= hdrs || skb->ip_summed != CHECKSUM_PARTIAL || !skb->sk ||
	    skb_is_gso(skb) || skb_has_frag_list(skb))
		return NF_ACCEPT;
	payload = skb->len - hdrs;
	frags = skb_shinfo(skb)->nr_frags;
	pr_info("tcpskb: before: skb=%px len=%u data_len=%u headlen=%u nr_frags=%u\n",
		skb, skb->len, skb->data_len, skb_headlen(skb), frags);
	/*
	 * The corruption: the payload is said to be paged (data_len) but no fragment
	 * holds it. The fragments' pages leak: the kernel is about to die.
	 */
	skb_shinfo(skb)->nr_frags = 0;
	skb->data_len = payload;
	skb_set_tail_pointer(skb, hdrs);
	WRITE_ONCE(tcpskb_bad_skb, skb);
	pr_info("tcpskb: skb=%px sk=%px len=%u data_len=%u headlen=%u nr_frags=%u frag_list=%px csum_start=%u csum_offset=%u ip_summed=%u dev=%s pid=%d comm=%s\n",
		skb, skb->sk, skb->len, skb->data_len, skb_headlen(skb),
		skb_shinfo(skb)->nr_frags, skb_shinfo(skb)->frag_list,
		skb->csum_start, skb->csum_offset, skb->ip_summed,
		state->out ? state->out->name : "?", task_pid_nr(current), current->comm);
	pr_info("tcpskb: &tcpskb_bad_skb=%px, on to %s without checksum offload\n",
		&tcpskb_bad_skb, state->out ? state->out->name : "?");
	return NF_ACCEPT;
}

static struct nf_hook_ops tcpskb_ops = {
	.hook = tcpskb_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_POST_ROUTING,
	.priority = NF_IP_PRI_LAST,
};

static int __init tcpskb_init(void)
{
	int err = nf_register_net_hook(&init_net, &tcpskb_ops);

	if (!err)
		pr_info("tcpskb: POST_ROUTING hook on TCP port %u\n", port);
	return err;
}

static void __exit tcpskb_exit(void)
{
	nf_unregister_net_hook(&init_net, &tcpskb_ops);
}

module_init(tcpskb_init);
module_exit(tcpskb_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktriage vmcore generator: corrupt a TCP skb like the seed's bug");
