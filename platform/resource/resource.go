// Package resource is the resource kit of the services' stores: a resource type is declared once (its bucket
// and key layout, its name, how its output-only fields are stamped, the change-feed record a write appends,
// and hooks that run inside the write transaction) and gets create, get, update, delete, list and watch with
// one idempotency format, one page-token scheme and one change-feed encoding.
//
// It owns the plumbing the catalogue, provider and referral stores once each carried: replay of a request id
// (the first answer comes back, another request under the same id is refused), the stamp of name, etag and
// times, the record encoding of platform/storage (revision, then protobuf binary; a store may seal it), the
// change record appended in the same transaction as the write, the superseding of a key-compacted log's
// entries, listing in key order with page tokens bound to their query, and the loop a watch runs. The
// services keep their real rules in the hooks: uniqueness and identifier indexes, capacity, the PESEL index,
// the audit chain, the referral status machine.
//
// Every operation takes the transaction it runs in, so a store composes several writes (a reservation, an
// audit entry) into one commit: the data, its indexes, its change record and its idempotency record are
// written together or not at all.
package resource

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/storage"
)

// Replay says what an idempotency record keeps of the first request's answer, and so what a retry gets.
// Each store keeps the mode its data files were written with: the records' format is the platform's
// (storage.EncodeRequest: time, request hash, payload), the payload is the mode's.
type Replay int

const (
	// ReplayResponse keeps the first answer itself: a retry gets it back as it was.
	ReplayResponse Replay = iota
	// ReplayKey keeps the key of the resource created: a retry gets the resource as it is now (a copy of
	// every answer would double a large catalogue's file).
	ReplayKey
	// ReplayName keeps the resource name: a retry gets the resource as it is now.
	ReplayName
)

// Req is the idempotency part of a write: the method, the client's request id ("": none) and the hash of the
// request without its request id (paging.RequestHash, or a keyed hash where requests carry personal data).
type Req struct {
	Method string
	ID     string
	Hash   []byte
}

// Key is the key of the request's idempotency record in storage.BucketRequests: method "/" request id.
func (r Req) Key() []byte { return []byte(r.Method + "/" + r.ID) }

// Change is what a write tells the change-feed mapping of its kind.
type Change[T proto.Message] struct {
	// Rev is the revision of the write; the record of a create or update is stamped with it.
	Rev int64
	// Key and Name identify the resource.
	Key, Name string
	// Time of the write.
	Time time.Time
	// Resource as written (stamped), or the last state before a delete.
	Resource T
	// Deleted: the resource was deleted at Rev.
	Deleted bool
}

// Kind declares one resource type. Declare it once (a package variable of the store, or a field of a store
// whose record encoding needs the store, as sealing does) and use it by pointer: it caches the descriptors of
// the stamped fields. The stamped fields are name, etag, create_time and update_time, where the message has
// them.
type Kind[T proto.Message] struct {
	// Bucket holds the records, under Key.
	Bucket storage.Bucket
	// New makes an empty message.
	New func() T
	// Name is the resource name of a key (e.g. "services/" + key, or a parent's name, a collection and an id
	// for a key "parent/id").
	Name func(key string) string
	// Key is the key of a resource name; needed with ReplayName only.
	Key func(name string) string
	// NotFound is returned as is when the key holds no record.
	NotFound *apierr.Error
	// Exists is returned, with the resource's name in "resource", by a create of a key that holds a record;
	// nil: a create does not look.
	Exists *apierr.Error
	// Gone is returned by a retry whose resource was deleted since (ReplayKey, ReplayName); nil: NotFound
	// with the resource's name.
	Gone *apierr.Error
	// Replay says what idempotency records keep.
	Replay Replay
	// Encode and Decode a record; nil: storage.EncodeRecord and storage.DecodeRecord. A store that seals its
	// records (the referral service) gives its own, which must keep the revision readable by Decode.
	Encode func(key []byte, rev int64, m T) ([]byte, error)
	Decode func(key, v []byte, m T) (int64, error)
	// Change makes the change-feed record of a write, appended at its revision in the same transaction; nil
	// (or a nil record) appends none.
	Change func(c Change[T]) ([]byte, error)
	// KeyCompacted: the change log keeps one entry per live resource (storage.SetChangeKeeper); a write
	// deletes the entry of the version it supersedes, found by the revision in the first 8 bytes of the stored
	// record (storage.EncodeRecord's layout).
	KeyCompacted bool
	// Check validates a create or update inside the transaction, after the caller's changes and before the
	// write (referential checks, uniqueness): old is the stored state (invalid on create), cur the new one.
	Check func(tx storage.ReadTx, key string, old, cur T) error
	// Index maintains secondary indexes inside the transaction after the record is written: old is the stored
	// state (invalid on create), cur the new one (invalid on delete).
	Index func(tx storage.Tx, key string, old, cur T) error

	once   sync.Once
	fields stampFields
}

// Write carries what one create, update or delete needs beyond the kind: idempotency, the time, an etag
// precondition and the hooks of this call.
type Write[T proto.Message] struct {
	// Req makes the write idempotent; with an empty ID it is not.
	Req Req
	// Now is the time of the write (create and update times, the change record).
	Now time.Time
	// Etag, when set, must be the stored record's: ABORTED STALE_ETAG otherwise.
	Etag string
	// Before runs first in a create, before the existence check (the parent's checks).
	Before func(tx storage.Tx) error
	// Check runs after the kind's Check (create, update: old invalid on create) or before a delete (cur
	// invalid); its error aborts the write.
	Check func(tx storage.Tx, old, cur T) error
	// After runs once the record, its indexes and its change are written (an audit entry, counters); after a
	// delete, cur is the last state.
	After func(tx storage.Tx, cur T, rev int64) error
}

// IsSet reports whether m holds a message (a typed nil pointer does not).
func IsSet(m proto.Message) bool { return m != nil && m.ProtoReflect().IsValid() }

func (k *Kind[T]) encode(key string, rev int64, m T) ([]byte, error) {
	if k.Encode != nil {
		return k.Encode([]byte(key), rev, m)
	}
	return storage.EncodeRecord(rev, m)
}

func (k *Kind[T]) decode(key, v []byte) (T, int64, error) {
	m := k.New()
	if k.Decode != nil {
		rev, err := k.Decode(key, v, m)
		return m, rev, err
	}
	rev, err := storage.DecodeRecord(v, m)
	return m, rev, err
}

// Lookup reads the resource at key: found is false when there is none.
func (k *Kind[T]) Lookup(tx storage.ReadTx, key string) (m T, rev int64, found bool, err error) {
	v := tx.Get(k.Bucket, []byte(key))
	if v == nil {
		return m, 0, false, nil
	}
	m, rev, err = k.decode([]byte(key), v)
	return m, rev, true, err
}

// Get reads the resource at key and the revision it was written at, or NotFound.
func (k *Kind[T]) Get(tx storage.ReadTx, key string) (T, int64, error) {
	m, rev, ok, err := k.Lookup(tx, key)
	if err == nil && !ok {
		return m, 0, k.NotFound
	}
	return m, rev, err
}

// stored reads the record at key for a write: the resource, its stored value, or NotFound.
func (k *Kind[T]) stored(tx storage.ReadTx, key string) (T, []byte, error) {
	v := tx.Get(k.Bucket, []byte(key))
	if v == nil {
		var none T
		return none, nil, k.NotFound
	}
	m, _, err := k.decode([]byte(key), v)
	return m, v, err
}

// Create stores t (a copy of it, stamped) under key. With a request id, a retry of the same request answers
// as the first did (replayed = true, nothing written) and another request under the same id is refused with
// INVALID_ARGUMENT REQUEST_ID_REUSED.
func (k *Kind[T]) Create(tx storage.Tx, key string, t T, w Write[T]) (out T, replayed bool, err error) {
	if out, replayed, err = k.replay(tx, w.Req); replayed || err != nil {
		return out, replayed, err
	}
	var none T
	if w.Before != nil {
		if err := w.Before(tx); err != nil {
			return none, false, err
		}
	}
	if k.Exists != nil && tx.Get(k.Bucket, []byte(key)) != nil {
		return none, false, k.Exists.With("resource", k.Name(key))
	}
	rec := proto.Clone(t).(T)
	if err := k.write(tx, key, none, nil, rec, w); err != nil {
		return none, false, err
	}
	return rec, false, nil
}

// Update applies mutate to the stored resource at key and writes it stamped. With a request id, a retry of a
// request already applied returns the resource as it is (replayed = true) and changes nothing.
func (k *Kind[T]) Update(tx storage.Tx, key string, w Write[T], mutate func(cur T) error) (out T, replayed bool, err error) {
	var none T
	cur, v, err := k.stored(tx, key)
	if err != nil {
		return none, false, err
	}
	if _, ok, err := lookupRequest(tx, w.Req); err != nil || ok {
		return cur, ok, err
	}
	if err := k.precondition(cur, w.Etag); err != nil {
		return none, false, err
	}
	old := proto.Clone(cur).(T)
	if err := mutate(cur); err != nil {
		return none, false, err
	}
	if err := k.write(tx, key, old, v, cur, w); err != nil {
		return none, false, err
	}
	return cur, false, nil
}

// write ends a create (old invalid, prev nil) or an update: the checks, the record with its index entries and
// change, the idempotency record and the call's After hook.
func (k *Kind[T]) write(tx storage.Tx, key string, old T, prev []byte, rec T, w Write[T]) error {
	if err := k.check(tx, key, old, rec, w); err != nil {
		return err
	}
	rev, err := k.put(tx, key, old, prev, rec, w.Now)
	if err != nil {
		return err
	}
	return k.finish(tx, key, rec, rev, w)
}

// Delete removes the resource at key after w.Check approves its stored state (given as old), drops its index
// entries and appends the delete to the change feed. It returns the revision of the delete.
func (k *Kind[T]) Delete(tx storage.Tx, key string, w Write[T]) (int64, error) {
	var none T
	cur, v, err := k.stored(tx, key)
	if err == nil {
		err = k.precondition(cur, w.Etag)
	}
	if err != nil {
		return 0, err
	}
	if w.Check != nil {
		if err := w.Check(tx, cur, none); err != nil {
			return 0, err
		}
	}
	if k.Index != nil {
		if err := k.Index(tx, key, cur, none); err != nil {
			return 0, err
		}
	}
	rev := tx.NextRevision()
	if err := k.supersede(tx, v); err != nil {
		return 0, err
	}
	if err := tx.Delete(k.Bucket, []byte(key)); err != nil {
		return 0, err
	}
	if err := k.appendChange(tx, Change[T]{Rev: rev, Key: key, Name: k.Name(key), Time: w.Now, Resource: cur, Deleted: true}); err != nil {
		return 0, err
	}
	if w.After != nil {
		return rev, w.After(tx, cur, rev)
	}
	return rev, nil
}

// Put writes rec (stamped) under key whether or not a record is there, as a bulk import does: a new key gets
// its create time, an existing one keeps what rec carries. It returns the revision of the write.
func (k *Kind[T]) Put(tx storage.Tx, key string, rec T, now time.Time) (int64, error) {
	prev := tx.Get(k.Bucket, []byte(key))
	var old T
	if prev != nil && k.Index != nil {
		var err error
		if old, _, err = k.decode([]byte(key), prev); err != nil {
			return 0, err
		}
	}
	return k.put(tx, key, old, prev, rec, now)
}

// put is every write of a record: a new revision, the stamp, the record, the superseded change entry, the
// indexes and the change record.
func (k *Kind[T]) put(tx storage.Tx, key string, old T, prev []byte, rec T, now time.Time) (int64, error) {
	rev := tx.NextRevision()
	name := k.Name(key)
	k.stamp(rec, name, rev, now, prev == nil, old)
	v, err := k.encode(key, rev, rec)
	if err != nil {
		return 0, err
	}
	if err := k.supersede(tx, prev); err != nil {
		return 0, err
	}
	if err := tx.Put(k.Bucket, []byte(key), v); err != nil {
		return 0, err
	}
	if k.Index != nil {
		if err := k.Index(tx, key, old, rec); err != nil {
			return 0, err
		}
	}
	return rev, k.appendChange(tx, Change[T]{Rev: rev, Key: key, Name: name, Time: now, Resource: rec})
}

func (k *Kind[T]) check(tx storage.Tx, key string, old, cur T, w Write[T]) error {
	if k.Check != nil {
		if err := k.Check(tx, key, old, cur); err != nil {
			return err
		}
	}
	if w.Check != nil {
		return w.Check(tx, old, cur)
	}
	return nil
}

// finish remembers the answer of an idempotent write and runs the call's After hook.
func (k *Kind[T]) finish(tx storage.Tx, key string, out T, rev int64, w Write[T]) error {
	if w.Req.ID != "" {
		var payload []byte
		switch k.Replay {
		case ReplayResponse:
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(out)
			if err != nil {
				return err
			}
			payload = b
		case ReplayKey:
			payload = []byte(key)
		case ReplayName:
			payload = []byte(k.Name(key))
		}
		if err := storage.RememberRequest(tx, w.Req.Key(), w.Req.Hash, payload); err != nil {
			return err
		}
	}
	if w.After != nil {
		return w.After(tx, out, rev)
	}
	return nil
}

func (k *Kind[T]) precondition(cur T, etag string) error {
	if etag == "" {
		return nil
	}
	k.once.Do(k.resolve)
	if k.fields.etag == nil || cur.ProtoReflect().Get(k.fields.etag).String() != etag {
		return apierr.ErrStaleEtag
	}
	return nil
}

// lookupRequest finds the idempotency record of req: ok with its payload when the id was used for this very
// request, REQUEST_ID_REUSED when for another.
func lookupRequest(tx storage.ReadTx, req Req) ([]byte, bool, error) {
	if req.ID == "" {
		return nil, false, nil
	}
	hash, payload, ok := storage.LookupRequest(tx, req.Key())
	if !ok {
		return nil, false, nil
	}
	if !bytes.Equal(hash, req.Hash) {
		return nil, false, apierr.ErrRequestIDReused
	}
	return payload, true, nil
}

// replay answers a retry of a create as the first request was answered.
func (k *Kind[T]) replay(tx storage.ReadTx, req Req) (out T, replayed bool, err error) {
	payload, ok, err := lookupRequest(tx, req)
	if err != nil || !ok {
		return out, false, err
	}
	var key string
	switch k.Replay {
	case ReplayResponse:
		out = k.New()
		return out, true, proto.Unmarshal(payload, out)
	case ReplayKey:
		key = string(payload)
	case ReplayName:
		key = k.Key(string(payload))
	}
	m, _, found, err := k.Lookup(tx, key)
	if err != nil {
		return out, false, err
	}
	if !found {
		// Created by this request id, then deleted before the retry.
		if k.Gone != nil {
			return out, false, k.Gone
		}
		return out, false, k.NotFound.With("resource", k.Name(key))
	}
	return m, true, nil
}

// ReplayAnswer answers a retry of a write that is not one resource's create (an import's report) with the
// answer stored by RememberAnswer: replayed is true and out holds it; REQUEST_ID_REUSED for another request.
func ReplayAnswer(tx storage.ReadTx, req Req, out proto.Message) (replayed bool, err error) {
	payload, ok, err := lookupRequest(tx, req)
	if err != nil || !ok {
		return false, err
	}
	return true, proto.Unmarshal(payload, out)
}

// RememberAnswer stores the answer of an idempotent write for ReplayAnswer (nothing without a request id).
func RememberAnswer(tx storage.Tx, req Req, answer proto.Message) error {
	if req.ID == "" {
		return nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(answer)
	if err != nil {
		return err
	}
	return storage.RememberRequest(tx, req.Key(), req.Hash, b)
}

// answeredError aborts a write transaction of an idempotent write whose answer another attempt under the same
// request id has already recorded (AnswerOnce): the caller returns that answer (Answered) and writes nothing.
type answeredError struct{ payload []byte }

func (e *answeredError) Error() string {
	return "the request id's answer was recorded by another attempt"
}

// CheckAnswer is the first step inside each write transaction of an idempotent write that is not one
// resource's create and takes more than one transaction or a plan made outside its transaction (an import):
// when another attempt under req's id has recorded its answer meanwhile (a retry on another replica running at
// the same time, or finishing first), it returns an error that aborts the transaction and that Answered turns
// into that answer; REQUEST_ID_REUSED when the id's answer is for another request. Nothing without a request id.
func CheckAnswer(tx storage.ReadTx, req Req) error {
	payload, ok, err := lookupRequest(tx, req)
	if err != nil || !ok {
		return err
	}
	return &answeredError{payload: bytes.Clone(payload)} // the slice is valid only inside tx
}

// AnswerOnce records answer as the answer of req in tx, the transaction that commits the write's last change
// (or one of its own when nothing was left to write), so the answer is stored with the last of the write and
// never without it. When an answer is already recorded (another attempt committed first: the check is inside
// the transaction) it is not overwritten: the transaction is aborted with the error Answered turns into that
// answer; REQUEST_ID_REUSED when the id's answer is for another request.
func AnswerOnce(tx storage.Tx, req Req, answer proto.Message) error {
	if err := CheckAnswer(tx, req); err != nil {
		return err
	}
	return RememberAnswer(tx, req, answer)
}

// Answered reports whether err is the abort of CheckAnswer or AnswerOnce; out then holds the answer the other
// attempt recorded (err is nil unless it does not decode).
func Answered(err error, out proto.Message) (bool, error) {
	var a *answeredError
	if !errors.As(err, &a) {
		return false, err
	}
	return true, proto.Unmarshal(a.payload, out)
}

// Replayed returns the payload an idempotent write of req left (for ReplayName, the resource name), or found
// false for a new id; REQUEST_ID_REUSED when the id was used for another request.
func Replayed(tx storage.ReadTx, req Req) (payload []byte, found bool, err error) {
	return lookupRequest(tx, req)
}

func (k *Kind[T]) appendChange(tx storage.Tx, c Change[T]) error {
	if k.Change == nil {
		return nil
	}
	b, err := k.Change(c)
	if err != nil || b == nil {
		return err
	}
	return tx.AppendChange(c.Rev, b)
}

// supersede deletes the change entry of a record's previous version (prev, whose first 8 bytes are the
// revision it was written at) in a key-compacted log: the newer change of the same resource replaces it.
func (k *Kind[T]) supersede(tx storage.Tx, prev []byte) error {
	if !k.KeyCompacted {
		return nil
	}
	if rev := RecordRevision(prev); rev > 0 {
		return tx.Delete(storage.BucketChanges, storage.RevisionKey(rev))
	}
	return nil
}

// Stamp sets the server-owned fields of m written at rev under name, as every write of the kind does (for a
// store that writes a bulk of records itself): on an update (created false) m keeps the create time it carries.
func (k *Kind[T]) Stamp(m T, name string, rev int64, now time.Time, created bool) {
	var none T
	k.stamp(m, name, rev, now, created, none)
}

// AppendChange appends the change record the kind makes of c (for a store that writes records itself).
func (k *Kind[T]) AppendChange(tx storage.Tx, c Change[T]) error { return k.appendChange(tx, c) }

// Supersede drops, in a key-compacted log, the change entry of the stored record prev that a write replaces
// (for a store that writes records itself).
func (k *Kind[T]) Supersede(tx storage.Tx, prev []byte) error { return k.supersede(tx, prev) }

// RecordRevision is the revision a stored record was written at (0: none or not a record).
func RecordRevision(v []byte) int64 {
	if len(v) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v[:8]))
}

// stampFields are the output-only fields the kit sets, where the message has them.
type stampFields struct {
	name, etag, createTime, updateTime protoreflect.FieldDescriptor
}

func (k *Kind[T]) resolve() {
	fds := k.New().ProtoReflect().Descriptor().Fields()
	field := func(name protoreflect.Name, kind protoreflect.Kind) protoreflect.FieldDescriptor {
		if fd := fds.ByName(name); fd != nil && fd.Kind() == kind && !fd.IsList() {
			return fd
		}
		return nil
	}
	k.fields = stampFields{
		name:       field("name", protoreflect.StringKind),
		etag:       field("etag", protoreflect.StringKind),
		createTime: field("create_time", protoreflect.MessageKind),
		updateTime: field("update_time", protoreflect.MessageKind),
	}
}

// stamp sets the server-owned fields of a resource written at rev: its name, the etag of rev, the update
// time, and the create time: now on create, the stored one (old) on update; a bulk Put that did not read the
// stored state keeps what m carries.
func (k *Kind[T]) stamp(m T, name string, rev int64, now time.Time, created bool, old T) {
	k.once.Do(k.resolve)
	r := m.ProtoReflect()
	f := k.fields
	if f.name != nil {
		r.Set(f.name, protoreflect.ValueOfString(name))
	}
	if f.etag != nil {
		r.Set(f.etag, protoreflect.ValueOfString(storage.Etag(rev)))
	}
	if f.updateTime != nil {
		r.Set(f.updateTime, protoreflect.ValueOfMessage(timestamppb.New(now).ProtoReflect()))
	}
	switch {
	case f.createTime == nil:
	case created:
		r.Set(f.createTime, protoreflect.ValueOfMessage(timestamppb.New(now).ProtoReflect()))
	case IsSet(old):
		if o := old.ProtoReflect(); o.Has(f.createTime) {
			r.Set(f.createTime, o.Get(f.createTime))
		} else {
			r.Clear(f.createTime)
		}
	}
}
