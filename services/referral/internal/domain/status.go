package domain

import (
	"github.com/cus-suite/cus/platform/apierr"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// Actor is who makes a transition, as domain.md's table names them.
type Actor int

// The actors of the referral status machine.
const (
	// ActorNone may make no transition (organiser, admin, integration, peer, anonymous).
	ActorNone Actor = iota
	// ActorRequester is CUS staff who refer: coordinator or director.
	ActorRequester
	// ActorProvider is staff of the provider the referral is addressed to.
	ActorProvider
)

func (a Actor) String() string {
	switch a {
	case ActorRequester:
		return "requester"
	case ActorProvider:
		return "provider"
	}
	return "none"
}

// Action is a state change of a referral (a custom method).
type Action string

// The actions; "create" is the creation of a referral.
const (
	ActionCreate             Action = "create"
	ActionSend               Action = "send"
	ActionReceive            Action = "receive"
	ActionAccept             Action = "accept"
	ActionReject             Action = "reject"
	ActionStart              Action = "start"
	ActionHold               Action = "hold"
	ActionResume             Action = "resume"
	ActionComplete           Action = "complete"
	ActionFail               Action = "fail"
	ActionCancel             Action = "cancel"
	ActionMarkEnteredInError Action = "markEnteredInError"
)

// Rule is one row of the status machine.
type Rule struct {
	Action Action
	From   []referralv1.ReferralStatus
	// To is the status after; UNSPECIFIED for resume (back to the status before the hold).
	To             referralv1.ReferralStatus
	By             Actor
	ReasonRequired bool
	OutcomeNeeded  bool
}

type st = referralv1.ReferralStatus

const (
	sNew        = referralv1.ReferralStatus_REFERRAL_STATUS_UNSPECIFIED
	sDraft      = referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT
	sRequested  = referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED
	sReceived   = referralv1.ReferralStatus_REFERRAL_STATUS_RECEIVED
	sAccepted   = referralv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED
	sRejected   = referralv1.ReferralStatus_REFERRAL_STATUS_REJECTED
	sCancelled  = referralv1.ReferralStatus_REFERRAL_STATUS_CANCELLED
	sInProgress = referralv1.ReferralStatus_REFERRAL_STATUS_IN_PROGRESS
	sOnHold     = referralv1.ReferralStatus_REFERRAL_STATUS_ON_HOLD
	sFailed     = referralv1.ReferralStatus_REFERRAL_STATUS_FAILED
	sCompleted  = referralv1.ReferralStatus_REFERRAL_STATUS_COMPLETED
	sError      = referralv1.ReferralStatus_REFERRAL_STATUS_ENTERED_IN_ERROR
)

// Rules is domain.md's table of the referral status machine, row by row.
var Rules = []Rule{
	{Action: ActionSend, From: []st{sDraft}, To: sRequested, By: ActorRequester},
	{Action: ActionReceive, From: []st{sRequested}, To: sReceived, By: ActorProvider},
	{Action: ActionAccept, From: []st{sRequested, sReceived}, To: sAccepted, By: ActorProvider},
	{Action: ActionReject, From: []st{sRequested, sReceived}, To: sRejected, By: ActorProvider, ReasonRequired: true},
	// Cancel: requested, received, accepted (reason required); in-progress by our policy choice, with reason.
	{Action: ActionCancel, From: []st{sRequested, sReceived, sAccepted, sInProgress}, To: sCancelled, By: ActorRequester, ReasonRequired: true},
	{Action: ActionStart, From: []st{sAccepted}, To: sInProgress, By: ActorProvider},
	{Action: ActionHold, From: []st{sAccepted, sInProgress}, To: sOnHold, By: ActorProvider},
	{Action: ActionResume, From: []st{sOnHold}, To: sNew, By: ActorProvider},
	{Action: ActionComplete, From: []st{sInProgress, sOnHold}, To: sCompleted, By: ActorProvider, OutcomeNeeded: true},
	{Action: ActionFail, From: []st{sInProgress, sOnHold}, To: sFailed, By: ActorProvider, ReasonRequired: true},
	{Action: ActionMarkEnteredInError, From: []st{sDraft, sRequested, sReceived, sAccepted, sInProgress, sOnHold}, To: sError, By: ActorRequester},
}

// RuleOf returns the rule of an action.
func RuleOf(a Action) (Rule, bool) {
	for _, r := range Rules {
		if r.Action == a {
			return r, true
		}
	}
	return Rule{}, false
}

// Terminal reports whether no transition leaves s.
func Terminal(s referralv1.ReferralStatus) bool {
	switch s {
	case sCompleted, sFailed, sRejected, sCancelled, sError:
		return true
	}
	return false
}

// HoldsCapacity reports whether a referral in status s holds capacity at its provider (accepted and after,
// until a terminal status).
func HoldsCapacity(s referralv1.ReferralStatus) bool {
	return s == sAccepted || s == sInProgress || s == sOnHold
}

// Errors of the status machine.
var (
	ErrTransitionNotAllowed = apierr.New(apierr.KindFailedPrecondition, "TRANSITION_NOT_ALLOWED", "the referral's status does not allow this change")
	ErrActorNotAllowed      = apierr.New(apierr.KindPermissionDenied, "ACTOR_NOT_ALLOWED", "this change is made by the other party of the referral")
	ErrReasonRequired       = apierr.Invalid("reason", "required for this change")
	ErrOutcomeRequired      = apierr.Invalid("outcome.code", "required on completion")
)

// Next decides a transition: the status after action from `from` by actor, given the reason and outcome sent.
// heldFrom is the status a referral was put on hold from (for resume). It checks the actor first (a
// provider cannot cancel even a cancellable referral), then the status, then the reason and outcome.
func Next(a Action, from referralv1.ReferralStatus, by Actor, reason string, outcome referralv1.OutcomeCode, heldFrom referralv1.ReferralStatus) (referralv1.ReferralStatus, error) {
	r, ok := RuleOf(a)
	if !ok {
		return sNew, ErrTransitionNotAllowed
	}
	if by != r.By {
		return sNew, ErrActorNotAllowed
	}
	allowed := false
	for _, f := range r.From {
		if f == from {
			allowed = true
		}
	}
	if !allowed {
		return sNew, ErrTransitionNotAllowed.With("status", from.String())
	}
	if r.ReasonRequired && reason == "" {
		return sNew, ErrReasonRequired
	}
	if r.OutcomeNeeded && outcome == referralv1.OutcomeCode_OUTCOME_CODE_UNSPECIFIED {
		return sNew, ErrOutcomeRequired
	}
	if a == ActionResume {
		if heldFrom != sAccepted && heldFrom != sInProgress {
			heldFrom = sInProgress
		}
		return heldFrom, nil
	}
	return r.To, nil
}

// InitialStatus checks the status a referral is created in: DRAFT or REQUESTED (the default), by a requester.
func InitialStatus(s referralv1.ReferralStatus, by Actor) (referralv1.ReferralStatus, error) {
	if by != ActorRequester {
		return sNew, ErrActorNotAllowed
	}
	switch s {
	case sNew, sRequested:
		return sRequested, nil
	case sDraft:
		return sDraft, nil
	}
	return sNew, apierr.Invalid("referral.status", "a referral is created as REFERRAL_STATUS_DRAFT or REFERRAL_STATUS_REQUESTED")
}
