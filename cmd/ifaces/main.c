/* udpkit ifaces: the interfaces broadcast and multicast would use, and
 * the reason each other one is skipped. The first thing to run when
 * "I can't see the others". Reads the kernel's interface list; sends
 * nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/i18n.h"
#include "udpkit/iface.h"

#define CMD "ifaces"

struct ifaces_opts {
	const char *ifname;
	bool json;
};

/* The option table: cmd/ifaces/options.tsv, made C by cmd/options.awk. */
#define AT(member) offsetof(struct ifaces_opts, member)
#include "ifaces_options.h"

const struct uk_cmd_spec uk_spec_ifaces = {
    "ifaces",
    N_("the interfaces broadcast and multicast use, and why others not"),
    "",
    N_("Lists network interfaces as udpkit broadcast and listen see them:\n"
       "state, addresses, directed broadcast address, MTU, multicast, and why\n"
       "an interface is skipped."),
    options,
    N_("Exit status: 0, or 2 on errors (no such interface, ...)."),
    UK_COMP_NONE};

static int parse_args(int argc, char **argv, struct ifaces_opts *o)
{
	*o = (struct ifaces_opts){0};
	return uk_opts_parse(&uk_spec_ifaces, argc, argv, NULL, o);
}

static const char *state_text(unsigned flags)
{
	if (!(flags & UK_IFACE_UP))
		return _("down");
	return (flags & UK_IFACE_RUNNING) ? _("up") : _("up, no carrier");
}

static void print_text(const struct uk_iface_list *l, const enum uk_iface_skip *why)
{
	char flags[128], ip[UK_ADDR_STRLEN], bc[UK_ADDR_STRLEN];

	for (size_t i = 0; i < l->count; i++) {
		const struct uk_iface *ifc = &l->ifs[i];
		enum uk_iface_skip m = uk_iface_multicast_skip(ifc);

		printf(_("%s (index %u): %s, mtu %u, <%s>\n"), ifc->name, ifc->index,
		       state_text(ifc->flags), ifc->mtu,
		       uk_iface_flags_text(ifc->flags, flags, sizeof(flags)));
		for (size_t j = 0; j < ifc->n_addrs; j++) {
			const struct uk_iface_addr *a = &ifc->addrs[j];
			bool v6 = uk_addr_family(&a->addr) == AF_INET6;
			printf("    %s %s/%u", v6 ? "inet6" : "inet",
			       uk_addr_ip(&a->addr, ip, sizeof(ip)), a->prefix_len);
			if (a->has_broadcast)
				printf(" brd %s", uk_addr_ip(&a->broadcast, bc, sizeof(bc)));
			else if (!v6)
				printf(_(" (no broadcast address)"));
			putchar('\n');
		}
		if (ifc->n_dropped)
			printf(_("    (%zu more addresses not shown)\n"), ifc->n_dropped);
		if (why[i] == UK_IFACE_USE)
			printf(_("    broadcast: used\n"));
		else
			printf(_("    broadcast: skipped: %s\n"), _(uk_iface_skip_text(why[i])));
		if (m == UK_IFACE_USE)
			printf(_("    multicast: yes\n"));
		else
			printf(_("    multicast: no: %s\n"), _(uk_iface_skip_text(m)));
	}
}

static void print_json(const struct uk_iface_list *l, const enum uk_iface_skip *why)
{
	char flags[128], ip[UK_ADDR_STRLEN];

	for (size_t i = 0; i < l->count; i++) {
		const struct uk_iface *ifc = &l->ifs[i];
		enum uk_iface_skip m = uk_iface_multicast_skip(ifc);

		uk_cli_json_begin(stdout, "interface");
		printf(",\"name\":");
		uk_cli_put_json_string(stdout, ifc->name, strlen(ifc->name));
		printf(",\"index\":%u,\"state\":\"%s\",\"mtu\":%u,\"flags\":\"%s\",\"addresses\":[",
		       ifc->index, (ifc->flags & UK_IFACE_UP) ? "up" : "down", ifc->mtu,
		       uk_iface_flags_text(ifc->flags, flags, sizeof(flags)));
		for (size_t j = 0; j < ifc->n_addrs; j++) {
			const struct uk_iface_addr *a = &ifc->addrs[j];
			printf("%s{\"family\":\"%s\",\"address\":\"%s\",\"prefix\":%u",
			       j ? "," : "",
			       uk_addr_family(&a->addr) == AF_INET6 ? "inet6" : "inet",
			       uk_addr_ip(&a->addr, ip, sizeof(ip)), a->prefix_len);
			if (a->has_broadcast)
				printf(",\"broadcast\":\"%s\"",
				       uk_addr_ip(&a->broadcast, ip, sizeof(ip)));
			putchar('}');
		}
		printf("],\"broadcast\":%s", why[i] == UK_IFACE_USE ? "true" : "false");
		if (why[i] != UK_IFACE_USE)
			printf(",\"broadcast_skipped\":\"%s\"", uk_iface_skip_text(why[i]));
		printf(",\"multicast\":%s", m == UK_IFACE_USE ? "true" : "false");
		if (m != UK_IFACE_USE)
			printf(",\"multicast_skipped\":\"%s\"", uk_iface_skip_text(m));
		printf("}\n");
	}
}

int uk_cmd_ifaces(int argc, char **argv)
{
	struct ifaces_opts o;
	struct uk_iface_list l;
	enum uk_iface_skip *why = NULL;
	struct uk_iface_target targets[64];
	size_t n;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc != UK_CONTINUE)
		return rc;
	rc = uk_iface_list_load(&l);
	if (rc < 0)
		return uk_cli_fail(CMD, _("getifaddrs"), rc);
	if (o.ifname && !uk_iface_find(&l, o.ifname)) {
		uk_cli_error(CMD, _("%s: no such interface"), o.ifname);
		uk_iface_list_free(&l);
		return UK_EXIT_ERROR;
	}
	why = calloc(l.count ? l.count : 1, sizeof(*why));
	if (!why) {
		uk_iface_list_free(&l);
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	}
	n = uk_iface_broadcast_targets(&l, NULL, 0, targets, sizeof(targets) / sizeof(targets[0]),
				       why);
	/* With -I, show that one interface, with the reasons of the full list. */
	if (o.ifname) {
		struct uk_iface_list one = {.ifs = (struct uk_iface *)uk_iface_find(&l, o.ifname),
					    .count = 1};
		enum uk_iface_skip *w = &why[one.ifs - l.ifs];
		if (o.json)
			print_json(&one, w);
		else
			print_text(&one, w);
	} else if (o.json) {
		print_json(&l, why);
	} else {
		print_text(&l, why);
		if (n == 0) {
			printf(_("broadcast: no usable interface (udpkit broadcast would fail; "
				 "try --to ADDR -I IF)\n"));
		} else {
			char bc[UK_ADDR_STRLEN];
			printf(_("broadcast goes to:"));
			for (size_t i = 0; i < n; i++)
				printf(" %s (%s)", uk_addr_ip(&targets[i].dst, bc, sizeof(bc)),
				       l.ifs[targets[i].iface].name);
			putchar('\n');
		}
	}
	free(why);
	uk_iface_list_free(&l);
	return fflush(stdout) == 0 ? UK_EXIT_OK : UK_EXIT_ERROR;
}
