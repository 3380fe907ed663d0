// Package domain holds the referral service's rules: the referral status machine (domain.md's table, as data),
// fee computation with the dated income criterion, and validation of residents, consents, cases, plans and
// referrals. It has no gRPC or bbolt types; errors are apierr values mapped to status in one place.
package domain
