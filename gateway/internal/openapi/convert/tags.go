package convert

import "strings"

// tagInfo describes one resource tag: its English name, the Polish name a gmina's staff use for the thing, and
// what it is. Operations are tagged by the collection their path names (see collectionOf).
type tagInfo struct {
	Name, Polish, Description string
}

// tags lists the resources in the order /docs and the document show them: the public catalogue first, then the
// provider registry, then the referral loop of CUS staff.
var tags = []struct {
	collections []string // path collections (and custom methods, as ":reserve") tagged with this resource
	tagInfo
}{
	{[]string{"services"}, tagInfo{"Services", "usługa społeczna (usługi społeczne)",
		"The catalogue's social services: what a resident can get, where, for whom, at what fee. Public to read; organisers edit."}},
	{[]string{"programmes"}, tagInfo{"Programmes", "program usług społecznych (PUS)",
		"The gmina's programmes of social services adopted by a resolution (uchwała), grouping services."}},
	{[]string{"areas", "targetGroups"}, tagInfo{"Taxonomy", "obszary usług i grupy docelowe",
		"The fixed taxonomy of art. 2 ust. 1 of the CUS act (areas) and the target groups, with Polish and English names."}},
	{[]string{"changes"}, tagInfo{"Changes", "zmiany (dziennik zmian katalogu)",
		"The catalogue's change feed by revision: list pages, or watch a stream, to mirror the catalogue without missing a change."}},
	{[]string{"peers"}, tagInfo{"Federation", "federacja (katalogi sąsiednich gmin)",
		"State of the federation with the catalogues of neighbouring gminas: cursors, lag and last errors."}},
	{[]string{"providers"}, tagInfo{"Providers", "realizator usług (świadczeniodawca)",
		"The registry of providers who deliver services: NGOs, social cooperatives, gmina units, companies; NIP, REGON and KRS are checked."}},
	{[]string{"agreements"}, tagInfo{"Agreements", "umowa (umowa o realizację usług)",
		"The agreements under which a provider delivers a service, with their funding and capacity."}},
	{[]string{"availability", "reservations", ":reserve", ":release"}, tagInfo{"Capacity", "dostępność miejsc i rezerwacje",
		"Places left under an agreement, and the reservations referrals hold on them."}},
	{[]string{"providerChanges"}, tagInfo{"Provider changes", "zmiany w rejestrze realizatorów",
		"The provider registry's change feed by revision."}},
	{[]string{"residents"}, tagInfo{"Residents", "mieszkaniec",
		"Residents served by the CUS (personal data: staff only, every access audited); export and erasure under the GDPR."}},
	{[]string{"consents"}, tagInfo{"Consents", "zgoda (zgoda na przetwarzanie danych)",
		"A resident's consents to share data with providers for a purpose; withdrawable."}},
	{[]string{"cases"}, tagInfo{"Cases", "sprawa",
		"A resident's case at the CUS: the needs assessed, the coordinator in charge."}},
	{[]string{"plans"}, tagInfo{"Plans", "indywidualny plan usług społecznych (IPUS)",
		"Individual plans of a case: goals, planned services, approval, reviews and closing."}},
	{[]string{"referrals"}, tagInfo{"Referrals", "skierowanie",
		"Closed-loop referrals of a resident to a provider's service: sent, received, accepted, started, completed, with the outcome."}},
	{[]string{"statistics"}, tagInfo{"Statistics", "statystyki",
		"Counts and response times of referrals, without personal data."}},
	{[]string{"auditEntries"}, tagInfo{"Audit", "dziennik audytu",
		"The hash-chained audit log of every access to personal data, and its verification."}},
	{[]string{"webhooks", "deliveries"}, tagInfo{"Webhooks", "webhook (powiadomienie o zdarzeniu)",
		"Subscriptions to referral events and catalogue changes, delivered to an integrator's URL inside the operator's " +
			"allowlist, signed as Standard Webhooks say; with the delivery log, re-enabling and secret rotation."}},
}

// tagFor returns the tag of an operation on path (the 3.1 form, /v1/providers/{provider}/agreements).
func tagFor(path string) tagInfo {
	collection, custom := collectionOf(path)
	if custom != "" {
		for _, t := range tags {
			for _, c := range t.collections {
				if c == ":"+custom {
					return t.tagInfo
				}
			}
		}
	}
	for _, t := range tags {
		for _, c := range t.collections {
			if c == collection {
				return t.tagInfo
			}
		}
	}
	// A collection added after this table: tagged by its own name, so the operation is still grouped.
	name := collection
	if name == "" {
		name = "Other"
	}
	return tagInfo{Name: strings.ToUpper(name[:1]) + name[1:], Description: "Operations on " + collection + "."}
}

// collectionOf returns the last literal segment of path (the collection the operation works on) and the
// custom method, if any: /v1/referrals/{referral}:send is ("referrals", "send").
func collectionOf(path string) (collection, custom string) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	last := segs[len(segs)-1]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		custom = last[i+1:]
		segs[len(segs)-1] = last[:i]
	}
	for i := len(segs) - 1; i >= 0; i-- {
		if s := segs[i]; s != "" && !strings.HasPrefix(s, "{") && s != "v1" {
			return s, custom
		}
	}
	return "", custom
}
