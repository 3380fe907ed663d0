package server

import (
	"context"
	"strconv"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/paging"
	"github.com/cus-suite/cus/platform/resource"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// changeScanBudget bounds the change-feed entries one ListReferralChanges call decrypts: a provider's staff
// whose referrals are rare among the gmina's get a short (even empty) page with a next_page_token rather than
// a call that reads the whole feed.
const changeScanBudget = 2000

// changesDigest binds page tokens to this method: a token holds the revision to continue after.
const changesDigest = "ListReferralChanges"

// ListReferralChanges implements the RPC: the change feed WatchReferrals streams, page by page, for clients that
// poll. Authorization and audit are those of a watch: provider staff see only their provider's referrals (never
// drafts), and every page that discloses referrals is audited naming them, before it is returned. An empty
// page discloses nothing and is not recorded, so a client polling every minute does not write an entry a
// minute.
func (s *Server) ListReferralChanges(ctx context.Context, req *referralv1.ListReferralChangesRequest) (*referralv1.ListReferralChangesResponse, error) {
	size, err := paging.Size("page_size", req.GetPageSize(), 100, 1000)
	if err != nil {
		return nil, err
	}
	after := req.GetAfterRevision()
	if after < 0 {
		return nil, apierr.Invalid("after_revision", "must not be negative")
	}
	if tok := req.GetPageToken(); tok != "" {
		off, err := paging.Decode(tok, changesDigest)
		if err != nil {
			return nil, err
		}
		after = int64(off)
	}
	// The head is read before the feed: every change up to it is in the snapshot the feed is read from.
	head := s.st.Revision()
	if after > head {
		// On etcd the cursor may come from another replica, a few milliseconds ahead of this one.
		if !s.st.AwaitRevision(ctx, after, resource.CatchUp) {
			return nil, errRevisionInFuture
		}
		head = s.st.Revision()
	}
	p := auth.FromContext(ctx)
	page, err := s.st.ScanReferralChanges(after, size, changeScanBudget, func(r *referralv1.Referral) bool {
		_, ok := actorOf(p, r)
		return ok
	})
	if err != nil {
		s.audit(ctx, "ListReferralChanges", "referrals", err)
		return nil, err
	}
	out := &referralv1.ListReferralChangesResponse{NextAfterRevision: max(after, page.Last), LatestRevision: max(head, page.Last)}
	if page.More {
		out.NextPageToken = paging.Encode(int(out.NextAfterRevision), changesDigest)
	} else {
		// Every change up to head was read: the cursor moves past revisions the caller was not shown (other
		// referrals, residents, cases), so a caught-up poller does not read them again.
		out.NextAfterRevision = max(out.NextAfterRevision, head)
	}
	names := make([]string, 0, len(page.Events))
	seen := map[string]bool{}
	for _, e := range page.Events {
		r := e.GetReferral()
		out.Changes = append(out.Changes, &referralv1.ReferralChange{Revision: e.GetRevision(), Name: r.GetName(), Type: changeType(r), Referral: r})
		if !seen[r.GetName()] {
			seen[r.GetName()] = true
			names = append(names, r.GetName())
		}
	}
	if len(names) > 0 {
		if err := s.read(ctx, "ListReferralChanges", "referrals", names, "changes after "+strconv.FormatInt(after, 10)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// changeType tells a referral's creation from a later change: every change after the creation is a status
// transition, which appends to the history, so a snapshot whose history holds only the initial entry (no
// "from" status) is the creation.
func changeType(r *referralv1.Referral) referralv1.ReferralChangeType {
	if h := r.GetHistory(); len(h) == 1 && h[0].GetFrom() == referralv1.ReferralStatus_REFERRAL_STATUS_UNSPECIFIED {
		return referralv1.ReferralChangeType_REFERRAL_CHANGE_TYPE_CREATED
	}
	return referralv1.ReferralChangeType_REFERRAL_CHANGE_TYPE_UPDATED
}
