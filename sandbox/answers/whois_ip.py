"""Address and AS-number WHOIS answers in the three RIR layouts, with referrals between them.

ARIN-style (`OrgAbuseEmail:`, `ReferralServer: whois://...` for space another registry holds),
RIPE-style (`abuse-mailbox:` in a role object, `% Abuse contact for ... is ...`) and
LACNIC-style (`owner:`, `abuse-c:` pointing at a `nic-hdl` block with `e-mail:`). A holder whose
world entry says `abuse_in: remarks` gets its abuse address only in a free-text line.
"""

from __future__ import annotations

from sandbox.world.index import Allocation, org_handle
from sandbox.world.model import Network, Rir

RIR_LABELS = {"arin": "ARIN", "ripe": "RIPE", "lacnic": "LACNIC"}


def net_handle(allocation: Allocation) -> str:
    """The registry handle of an address range."""
    first = str(allocation.network.network_address).replace(".", "-").replace(":", "-")
    return f"NET-{first}-1"


def _bounds(allocation: Allocation) -> tuple[str, str]:
    net = allocation.network
    return str(net.network_address), str(net.broadcast_address)


def arin_net(allocation: Allocation) -> str:
    """ARIN-style network and organisation record."""
    holder = allocation.holder
    first, last = _bounds(allocation)
    org = org_handle(holder)
    lines = [
        "",
        "#",
        "# Terms of use: this registry answers for a simulated world only.",
        "#",
        "",
        f"NetRange:       {first} - {last}",
        f"CIDR:           {allocation.network}",
        f"NetName:        {org}-NET",
        f"NetHandle:      {net_handle(allocation)}",
        "NetType:        Direct Allocation",
        f"OriginAS:       AS{holder.asn}",
        f"Organization:   {holder.name} ({org})",
        "RegDate:        2019-06-11",
        "Updated:        2025-01-20",
    ]
    if holder.abuse_in == "remarks":
        lines.append(f"Comment:        Please send abuse reports to {holder.abuse_email}")
    if holder.also_email:
        lines.append(f"Comment:        Abuse reports may also be sent to {holder.also_email}")
    lines += [
        "",
        f"OrgName:        {holder.name}",
        f"OrgId:          {org}",
        f"Country:        {holder.country}",
        "RegDate:        2019-06-11",
        "",
    ]
    if holder.abuse_in == "record":
        lines += [
            f"OrgAbuseHandle: ABUSE-{org}-ARIN",
            f"OrgAbuseName:   Abuse Desk {holder.name}",
            "OrgAbusePhone:  +1-555-555-0199",
            f"OrgAbuseEmail:  {holder.abuse_email}",
            "",
        ]
    lines += [
        f"OrgTechHandle:  NOC-{org}-ARIN",
        f"OrgTechName:    Network Operations {holder.name}",
        f"OrgTechEmail:   {holder.noc_email}",
        "",
    ]
    return "\n".join(lines) + "\n"


def arin_referral(allocation: Allocation, to: Rir) -> str:
    """ARIN-style answer for space another registry manages, with its referral server."""
    first, last = _bounds(allocation)
    label = RIR_LABELS[to.style]
    return (
        "\n"
        f"NetRange:       {first} - {last}\n"
        f"CIDR:           {allocation.network}\n"
        f"NetName:        {label}-{first.replace('.', '-')}\n"
        f"NetHandle:      {net_handle(allocation)}\n"
        f"NetType:        Allocated to {label}\n"
        f"Organization:   {to.name} ({to.id.upper()})\n"
        f"Comment:        This IP address range is under {to.name} responsibility.\n"
        "RegDate:        2005-01-01\n"
        "\n"
        f"OrgName:        {to.name}\n"
        f"OrgId:          {to.id.upper()}\n"
        f"ReferralServer:  whois://{to.whois_server}\n"
        f"ResourceLink:  {to.whois_server}\n"
        "\n"
    )


def ripe_net(allocation: Allocation) -> str:
    """RIPE-style inetnum with organisation and abuse role objects."""
    holder = allocation.holder
    first, last = _bounds(allocation)
    org = org_handle(holder)
    abuse_role = f"AR-{org}-RIPE"
    header = (
        "% This is the RIPE-style database query service of a simulated world.\n"
        "% The objects are in RPSL format.\n\n"
        f"% Information related to '{first} - {last}'\n\n"
    )
    if holder.abuse_in == "record":
        header += f"% Abuse contact for '{first} - {last}' is '{holder.abuse_email}'\n\n"
    inetnum = [
        f"inetnum:        {first} - {last}",
        f"netname:        {org}-NET",
        f"descr:          {holder.name}",
        f"country:        {holder.country}",
        f"org:            ORG-{org}-RIPE",
        f"admin-c:        NOC-{org}-RIPE",
        f"tech-c:         NOC-{org}-RIPE",
    ]
    if holder.abuse_in == "record":
        inetnum.append(f"abuse-c:        {abuse_role}")
    else:
        inetnum.append(f"remarks:        Please send abuse notification to {holder.abuse_email}")
    inetnum += [
        "status:         ASSIGNED PA",
        f"mnt-by:         {org}-MNT",
        "created:        2019-06-11T09:00:00Z",
        "last-modified:  2025-01-20T09:00:00Z",
        "source:         RIPE # Filtered",
    ]
    blocks = ["\n".join(inetnum)]
    blocks.append(
        f"organisation:   ORG-{org}-RIPE\norg-name:       {holder.name}\n"
        f"country:        {holder.country}\norg-type:       LIR\nsource:         RIPE # Filtered"
    )
    if holder.abuse_in == "record":
        blocks.append(
            f"role:           Abuse Desk {holder.name}\nnic-hdl:        {abuse_role}\n"
            f"abuse-mailbox:  {holder.abuse_email}\nsource:         RIPE # Filtered"
        )
    return header + "\n\n".join(blocks) + "\n\n"


def ripe_not_managed(allocation: Allocation) -> str:
    """RIPE-style answer for space outside its region."""
    first, last = _bounds(allocation)
    return (
        "% This is the RIPE-style database query service of a simulated world.\n\n"
        f"inetnum:        {first} - {last}\n"
        "netname:        NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK\n"
        "descr:          IPv4 address block not managed by this registry\n"
        "remarks:        Please query the registry of the region for this block.\n"
        "status:         ALLOCATED UNSPECIFIED\n"
        "source:         RIPE\n\n"
    )


def lacnic_net(allocation: Allocation) -> str:
    """LACNIC-style inetnum with an owner block and a nic-hdl block."""
    holder = allocation.holder
    org = org_handle(holder)
    contact = f"{org[:4]}{holder.asn % 100}"
    lines = [
        "% Joint Whois - simulated registry",
        "%  This server accepts single ASN, IPv4 or IPv6 queries",
        "",
        f"inetnum:     {allocation.network}",
        "status:      allocated",
        f"aut-num:     AS{holder.asn}",
        f"owner:       {holder.name}",
        f"ownerid:     {holder.country}-{org}-LACNIC",
        f"responsible: Network Operations {holder.name}",
        f"country:     {holder.country}",
        f"owner-c:     {contact}",
        f"tech-c:      {contact}",
    ]
    if holder.abuse_in == "record":
        lines.append(f"abuse-c:     {contact}")
    else:
        lines.append(f"remarks:     Reportes de abuso / abuse reports: {holder.abuse_email}")
    lines += ["created:     20190611", "changed:     20250120", ""]
    email = holder.abuse_email if holder.abuse_in == "record" else holder.noc_email
    lines += [
        f"nic-hdl:     {contact}",
        f"person:      Abuse Desk {holder.name}",
        f"e-mail:      {email}",
        f"country:     {holder.country}",
        "created:     20190611",
        "",
    ]
    return "\n".join(lines) + "\n"


def net_answer(rir: Rir, allocation: Allocation | None, owner: Rir | None, query: str) -> str:
    """What `rir`'s WHOIS says about an address: the record, a referral or a miss."""
    if allocation is None or owner is None:
        if rir.style == "arin":
            return f"No match found for {query}.\n"
        if rir.style == "ripe":
            return "%ERROR:101: no entries found\n%\n% No entries found in source RIPE.\n"
        return "% Not assigned to LACNIC\n"
    if owner.id != rir.id:
        if rir.style == "arin":
            return arin_referral(allocation, owner)
        if rir.style == "ripe":
            return ripe_not_managed(allocation)
        return "% Not assigned to LACNIC\n"
    if rir.style == "arin":
        return arin_net(allocation)
    if rir.style == "ripe":
        return ripe_net(allocation)
    return lacnic_net(allocation)


def asn_answer(rir: Rir, holder: Network | None, query: str) -> str:
    """What `rir`'s WHOIS says about an AS number it manages."""
    if holder is None or holder.rir != rir.id:
        return f"No match found for {query}.\n" if rir.style == "arin" else "% No entries found\n"
    org = org_handle(holder)
    if rir.style == "arin":
        abuse = f"OrgAbuseEmail:  {holder.abuse_email}\n" if holder.abuse_in == "record" else ""
        return (
            f"\nASNumber:       {holder.asn}\nASName:         {org}\n"
            f"ASHandle:       AS{holder.asn}\nOrgName:        {holder.name}\n"
            f"OrgId:          {org}\nCountry:        {holder.country}\n{abuse}\n"
        )
    if rir.style == "ripe":
        return (
            f"aut-num:        AS{holder.asn}\nas-name:        {org}\n"
            f"org:            ORG-{org}-RIPE\n"
            f"abuse-c:        AR-{org}-RIPE\nsource:         RIPE # Filtered\n\n"
            f"role:           Abuse Desk {holder.name}\nnic-hdl:        AR-{org}-RIPE\n"
            f"abuse-mailbox:  {holder.abuse_email}\n\n"
        )
    return (
        f"aut-num:     AS{holder.asn}\nowner:       {holder.name}\ncountry:     {holder.country}\n"
        f"e-mail:      {holder.abuse_email}\n\n"
    )
