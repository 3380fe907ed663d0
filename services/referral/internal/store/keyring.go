package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cus-suite/cus/platform/storage"
)

// KeyRing holds the data keys (AES-256) that encrypt the personal records at rest. The primary key encrypts
// every new write; every key of the ring decrypts what was written under it, so a rotation can re-encrypt
// record by record. The ring lives in a file outside the data directory (--data-key-file): a copy of the data
// file, a backup included, is unreadable without it.
type KeyRing struct {
	primary string
	keys    map[string][]byte
	aead    map[string]cipher.AEAD
}

// keyRingFile is the on-disk form: {"primary": "k2", "keys": {"k1": "<base64 of 32 bytes>", "k2": "..."}}.
type keyRingFile struct {
	Primary string            `json:"primary"`
	Keys    map[string]string `json:"keys"`
}

var keyIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// ErrKeyRing marks every problem with the data key ring or the PESEL index key: a key missing, a different
// key, a malformed or exposed key file. The message names the key id, never key material.
var ErrKeyRing = errors.New("key ring")

func keyErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrKeyRing, fmt.Sprintf(format, a...))
}

// NewKeyRing returns a ring of one fresh random key, k1, as its primary.
func NewKeyRing() (*KeyRing, error) {
	r := &KeyRing{keys: map[string][]byte{}, aead: map[string]cipher.AEAD{}}
	if _, err := r.AddKey(); err != nil {
		return nil, err
	}
	return r, nil
}

// KeyRingOf builds a ring from given keys (tests, tools); each key is 32 bytes.
func KeyRingOf(primary string, keys map[string][]byte) (*KeyRing, error) {
	r := &KeyRing{keys: map[string][]byte{}, aead: map[string]cipher.AEAD{}}
	for id, k := range keys {
		if err := r.add(id, k); err != nil {
			return nil, err
		}
	}
	if _, ok := r.keys[primary]; !ok {
		return nil, keyErr("the primary key %q is not in the ring", primary)
	}
	r.primary = primary
	return r, nil
}

func (r *KeyRing) add(id string, k []byte) error {
	if !keyIDPattern.MatchString(id) {
		return keyErr("key id %q: want 1-32 of a-z 0-9 . _ -", id)
	}
	if len(k) != 32 {
		return keyErr("key %q: want 32 bytes (AES-256), got %d", id, len(k))
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	r.keys[id] = append([]byte(nil), k...)
	r.aead[id] = g
	return nil
}

// AddKey adds a fresh random key under the next free id (k1, k2, ...) and makes it the primary.
func (r *KeyRing) AddKey() (string, error) {
	n := 0
	for id := range r.keys {
		if strings.HasPrefix(id, "k") {
			if v, err := strconv.Atoi(id[1:]); err == nil && v > n {
				n = v
			}
		}
	}
	id := "k" + strconv.Itoa(n+1)
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return "", err
	}
	if err := r.add(id, k); err != nil {
		return "", err
	}
	r.primary = id
	return id, nil
}

// Key returns a copy of the key of an id.
func (r *KeyRing) Key(id string) ([]byte, bool) {
	k, ok := r.keys[id]
	return append([]byte(nil), k...), ok
}

// Primary is the id of the key new writes use.
func (r *KeyRing) Primary() string { return r.primary }

// IDs lists the key ids, sorted.
func (r *KeyRing) IDs() []string {
	out := make([]string, 0, len(r.keys))
	for id := range r.keys {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Fingerprint of a key: HMAC-SHA256 under the key of a constant naming its id. It tells whether a ring holds
// the key a data file was written with and says nothing of the key itself.
func (r *KeyRing) Fingerprint(id string) ([]byte, bool) {
	k, ok := r.keys[id]
	if !ok {
		return nil, false
	}
	return dataKeyFingerprint(id, k), true
}

func dataKeyFingerprint(id string, k []byte) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte("cus/referral/data-key-fingerprint/v1/" + id))
	return m.Sum(nil)
}

// PESELKeyFingerprint is the fingerprint of a PESEL index key, stored in the data file.
func PESELKeyFingerprint(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cus/referral/pesel-index-key-fingerprint/v1"))
	return m.Sum(nil)
}

// LoadKeyRing reads a key ring file. A file that others than its owner and group can read is refused; one
// its group can read is accepted with a warning in the returned text (a Kubernetes Secret mounted with fsGroup
// is 0440).
func LoadKeyRing(path string) (r *KeyRing, warning string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return nil, "", keyErr("data key file %s has mode %04o: others may read it; chmod 600 it (and rotate the keys if it was exposed)", path, fi.Mode().Perm())
	}
	if fi.Mode().Perm()&0o070 != 0 {
		warning = fmt.Sprintf("data key file %s has mode %04o: its group may read it (expected 0600 or 0400)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	r, err = ParseKeyRing(b)
	if err != nil {
		return nil, "", fmt.Errorf("data key file %s: %w", path, err)
	}
	return r, warning, nil
}

// ParseKeyRing decodes the JSON form of a ring.
func ParseKeyRing(b []byte) (*KeyRing, error) {
	var f keyRingFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, keyErr("not a key ring (want JSON {\"primary\": id, \"keys\": {id: base64}}): %v", err)
	}
	keys := map[string][]byte{}
	for id, s := range f.Keys {
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, keyErr("key %q is not base64", id)
		}
		keys[id] = k
	}
	return KeyRingOf(f.Primary, keys)
}

// Marshal encodes the ring as its file form.
func (r *KeyRing) Marshal() []byte {
	f := keyRingFile{Primary: r.primary, Keys: map[string]string{}}
	for id, k := range r.keys {
		f.Keys[id] = base64.StdEncoding.EncodeToString(k)
	}
	b, _ := json.MarshalIndent(f, "", "  ")
	return append(b, '\n')
}

// WriteKeyRing writes the ring to path atomically (a temporary file renamed over it), mode 0600.
func WriteKeyRing(path string, r *KeyRing) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".keyring-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(r.Marshal()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// --- sealed records ---

// A sealed record keeps the platform's layout, the 8-byte revision first, and replaces the protobuf binary by
//
//	version (1 byte) | key id length (1) | key id | nonce (12) | AES-256-GCM ciphertext and tag
//
// The additional data binds the ciphertext to where it lies: the revision, the header, the bucket and the
// record's key. A ciphertext copied to another record, bucket or revision does not decrypt.
const sealVersion = 1

// ErrUnsealable is returned for a record that does not decrypt (altered, moved, or under another key).
var ErrUnsealable = errors.New("store: record does not decrypt")

func additionalData(header []byte, b storage.Bucket, key []byte) []byte {
	ad := make([]byte, 0, len(header)+len(b)+1+len(key))
	ad = append(ad, header...)
	ad = append(ad, b...)
	ad = append(ad, 0)
	return append(ad, key...)
}

func (r *KeyRing) seal(b storage.Bucket, key []byte, rev int64, plain []byte) ([]byte, error) {
	id := r.primary
	g := r.aead[id]
	out := make([]byte, 8, 8+2+len(id)+g.NonceSize()+len(plain)+g.Overhead())
	binary.BigEndian.PutUint64(out, uint64(rev))
	out = append(out, sealVersion, byte(len(id)))
	out = append(out, id...)
	header := out
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	ad := additionalData(header, b, key)
	out = append(out, nonce...)
	return g.Seal(out, nonce, plain, ad), nil
}

// sealedKeyID returns the key id a sealed value was written under.
func sealedKeyID(v []byte) (string, bool) {
	if len(v) < 10 || v[8] != sealVersion || len(v) < 10+int(v[9]) {
		return "", false
	}
	return string(v[10 : 10+int(v[9])]), true
}

func (r *KeyRing) open(b storage.Bucket, key, v []byte) (int64, []byte, error) {
	id, ok := sealedKeyID(v)
	if !ok {
		return 0, nil, fmt.Errorf("%w: %s/%q is not a sealed record", ErrUnsealable, b, key)
	}
	g, ok := r.aead[id]
	if !ok {
		return 0, nil, fmt.Errorf("%w: %s/%q is sealed under key %q, which the key ring lacks", ErrUnsealable, b, key, id)
	}
	hl := 10 + len(id)
	if len(v) < hl+g.NonceSize()+g.Overhead() {
		return 0, nil, fmt.Errorf("%w: %s/%q is truncated", ErrUnsealable, b, key)
	}
	header, nonce, ct := v[:hl], v[hl:hl+g.NonceSize()], v[hl+g.NonceSize():]
	plain, err := g.Open(nil, nonce, ct, additionalData(header, b, key))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s/%q (altered, moved from another record, or a different key %q)", ErrUnsealable, b, key, id)
	}
	return int64(binary.BigEndian.Uint64(v[:8])), plain, nil
}
