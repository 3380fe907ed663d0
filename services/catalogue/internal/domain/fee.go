package domain

import (
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// IsFree reports whether a service costs nothing to anyone.
func IsFree(s *cataloguev1.Service) bool {
	return s.GetFee() == nil || s.GetFee().GetPriceGrosze() == 0
}
