package server

import (
	"sort"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

func tsNow(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func sortCases(cs []*referralv1.Case) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i].GetReceiveTime().AsTime(), cs[j].GetReceiveTime().AsTime()
		if !a.Equal(b) {
			return a.Before(b)
		}
		return cs[i].GetName() < cs[j].GetName()
	})
}

func percentile(xs []int64, p int) int32 {
	if len(xs) == 0 {
		return 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	// Nearest rank.
	k := (p*len(xs) + 99) / 100
	if k < 1 {
		k = 1
	}
	return int32(xs[k-1])
}
