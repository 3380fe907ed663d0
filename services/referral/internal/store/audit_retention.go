package store

// Retention of audit entries by legal basis (podstawa prawna przechowywania wpisów dziennika zdarzeń). The
// table is documented in docs/referral.md ("Audit retention"); a change here is a change there.

import (
	"fmt"
	"time"

	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// MinAuditRetention is the legal minimum of --audit-retention: two years (730 days). Every audit entry is
// about access to or a change of a resident's data, which the suite keeps at least two years (RODO art. 5
// ust. 2 and art. 32; design/domain.md). A basis of the table may require more, counted in calendar years.
const MinAuditRetention = 2 * 365 * 24 * time.Hour

// DefaultAuditRetention is the default of --audit-retention.
const DefaultAuditRetention = MinAuditRetention

// AuditBasis is a legal basis for keeping audit entries, with the minimum time they stay in the live data
// file before they may be moved to an archive.
type AuditBasis struct {
	// ID names the basis in docs and messages.
	ID string
	// Law is the provisions it rests on.
	Law string
	// Years is the minimum retention in calendar years (a leap day is counted, unlike in a duration).
	Years int
	// Entries says which entries it covers.
	Entries string
	match   func(e *referralv1.AuditEntry) bool
}

// AuditBases is the table, most specific first; the last row covers every entry.
var AuditBases = []AuditBasis{
	{
		ID:      "data-subject-request",
		Law:     "RODO art. 12, 15 and 17 with art. 5 ust. 2; KC art. 442¹ § 1 (3-year limitation of claims for damages, art. 82 RODO)",
		Years:   3,
		Entries: "ExportResident and EraseResident (the handling of a resident's request for access or erasure)",
		match: func(e *referralv1.AuditEntry) bool {
			return e.GetAction() == "ExportResident" || e.GetAction() == "EraseResident"
		},
	},
	{
		ID:      "personal-data-access",
		Law:     "RODO art. 5 ust. 2 (accountability) and art. 32 (security of processing); ustawa o pomocy społecznej and ustawa o realizowaniu usług społecznych przez CUS (records of the handling of residents' cases)",
		Years:   2,
		Entries: "every other entry: reads, changes and refusals about residents, consents, cases, plans and referrals, summaries of anonymous refusals",
		match:   func(*referralv1.AuditEntry) bool { return true },
	},
}

// BasisOf is the legal basis an entry is kept under.
func BasisOf(e *referralv1.AuditEntry) AuditBasis {
	for _, b := range AuditBases {
		if b.match(e) {
			return b
		}
	}
	return AuditBases[len(AuditBases)-1]
}

// CheckAuditRetention refuses a retention below the legal minimum.
func CheckAuditRetention(d time.Duration) error {
	if d < MinAuditRetention {
		return fmt.Errorf("%s is below the legal minimum of 2 years (%s): audit entries of access to residents' data are kept at least 2 years (RODO art. 5 ust. 2, art. 32)",
			d, MinAuditRetention)
	}
	return nil
}

// AuditKeepUntil is when an entry's retention ends: the later of its time plus retention and its time plus
// its basis's calendar years. Before then it stays in the live data file.
func AuditKeepUntil(e *referralv1.AuditEntry, retention time.Duration) time.Time {
	t := e.GetTime().AsTime()
	until := t.Add(retention)
	if byBasis := t.AddDate(BasisOf(e).Years, 0, 0); byBasis.After(until) {
		until = byBasis
	}
	return until
}
