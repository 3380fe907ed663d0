package server

import (
	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

var (
	requesters = []auth.Role{auth.RoleCoordinator, auth.RoleDirector}
	providers  = []auth.Role{auth.RoleProvider}
	watchers   = []auth.Role{auth.RoleCoordinator, auth.RoleDirector, auth.RoleProvider}
	approvers  = []auth.Role{auth.RoleDirector, auth.RoleOrganiser}
	overseers  = []auth.Role{auth.RoleCoordinator, auth.RoleDirector, auth.RoleOrganiser}
	statistics = []auth.Role{auth.RoleCoordinator, auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration}
	erasers    = []auth.Role{auth.RoleDirector, auth.RoleAdmin}
	auditors   = []auth.Role{auth.RoleAdmin}
	// subscribers may hold webhooks; what each may subscribe to is checked in webhooks.go.
	subscribers = []auth.Role{auth.RoleCoordinator, auth.RoleDirector, auth.RoleProvider, auth.RoleOrganiser, auth.RoleAdmin, auth.RoleIntegration}
)

// Policy says which role may call which method of the referral service. Residents, consents, cases and plans
// are for the CUS staff who coordinate (coordinator, director); plans are approved by a director or organiser;
// provider staff act only on referrals addressed to their provider (object-level check: any other referral is
// NOT_FOUND); the audit log is the admin's. docs/authorization.md is generated from this table.
var Policy = auth.Policy{
	Service: referralv1.ReferralService_ServiceDesc.ServiceName,
	Methods: map[string][]auth.Role{
		"CreateResident":             requesters,
		"GetResident":                requesters,
		"ListResidents":              requesters,
		"UpdateResident":             requesters,
		"LookupResident":             requesters,
		"EraseResident":              erasers,
		"ExportResident":             requesters,
		"CreateConsent":              requesters,
		"ListConsents":               requesters,
		"WithdrawConsent":            requesters,
		"CreateCase":                 requesters,
		"GetCase":                    requesters,
		"UpdateCase":                 requesters,
		"ListCases":                  requesters,
		"CreatePlan":                 requesters,
		"GetPlan":                    overseers,
		"ListPlans":                  overseers,
		"UpdatePlan":                 requesters,
		"AddPlanReview":              requesters,
		"ApprovePlan":                approvers,
		"ClosePlan":                  requesters,
		"ListOverduePlans":           overseers,
		"CreateReferral":             requesters,
		"GetReferral":                watchers,
		"ListReferrals":              watchers,
		"WatchReferrals":             watchers,
		"ListReferralChanges":        watchers,
		"SendReferral":               requesters,
		"CancelReferral":             requesters,
		"MarkReferralEnteredInError": requesters,
		"ReceiveReferral":            providers,
		"AcceptReferral":             providers,
		"RejectReferral":             providers,
		"StartReferral":              providers,
		"HoldReferral":               providers,
		"ResumeReferral":             providers,
		"CompleteReferral":           providers,
		"FailReferral":               providers,
		"GetStatistics":              statistics,
		"ExportStatistics":           statistics,
		"ListAuditEntries":           auditors,
		"VerifyAuditChain":           auditors,
		"CreateWebhook":              subscribers,
		"GetWebhook":                 subscribers,
		"ListWebhooks":               subscribers,
		"UpdateWebhook":              subscribers,
		"DeleteWebhook":              subscribers,
		"EnableWebhook":              subscribers,
		"RotateWebhookSecret":        subscribers,
		"ListWebhookDeliveries":      subscribers,
	},
	Notes: map[string]string{
		"GetReferral":      "provider staff: only referrals addressed to their provider, never drafts (others answer NOT_FOUND)",
		"ListReferrals":    "provider staff: only referrals addressed to their provider, never drafts",
		"WatchReferrals":   "provider staff: only referrals addressed to their provider, never drafts",
		"AcceptReferral":   "provider staff of the referral's provider; reserves capacity in the provider service",
		"ReceiveReferral":  "provider staff of the referral's provider",
		"RejectReferral":   "provider staff of the referral's provider; reason required",
		"StartReferral":    "provider staff of the referral's provider",
		"HoldReferral":     "provider staff of the referral's provider",
		"ResumeReferral":   "provider staff of the referral's provider",
		"CompleteReferral": "provider staff of the referral's provider; outcome required; releases capacity",
		"FailReferral":     "provider staff of the referral's provider; reason required; releases capacity",
		"CancelReferral":   "reason required; releases capacity",
		"UpdateResident":   "update mask and etag; a changed PESEL re-derives birth date and sex and moves the index entry",
		"UpdatePlan":       "only while the plan is draft or approved; a closed plan is read-only",
		"AddPlanReview":    "approved plans only; reviews are append-only",
		"EraseResident":    "erases personal data, keeps anonymous statistics, compacts the data file",
		"GetStatistics":    "no personal data",
		"ExportStatistics": "no personal data; the same figures as GetStatistics",
		"ListAuditEntries": "every read and change of personal data, denials included",

		// Polling, issue 13.
		"ListReferralChanges": "polling instead of WatchReferrals; provider staff: only referrals addressed to their provider, never drafts",

		// Webhooks, issue 13.
		"CreateWebhook":         "referral events: coordinator, director, provider staff (only referrals addressed to their provider, never drafts); catalogue events: every role here",
		"GetWebhook":            "its owner; admin, coordinator and director see every webhook (others answer NOT_FOUND)",
		"ListWebhooks":          "the caller's own; admin, coordinator and director see every webhook",
		"UpdateWebhook":         "its owner or an admin",
		"DeleteWebhook":         "its owner or an admin",
		"EnableWebhook":         "its owner or an admin",
		"RotateWebhookSecret":   "its owner only (the response shows the secret)",
		"ListWebhookDeliveries": "whoever may read the webhook",
	},
}
