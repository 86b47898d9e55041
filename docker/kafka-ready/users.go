package main

// Users and ACLs as code (`kafka-ready cluster -users FILE`). FILE is the stack's users Secret:
//
//	{"admin": {"password": "..."}, "orders": {"password": "...", "acls": [{"resource": "topic",
//	  "name": "orders", "pattern": "literal", "operations": ["read", "write"]}]}}
//
// The command makes the cluster match it: every listed user gets its SCRAM-SHA-512 credential
// (set again on every run: the broker never tells whether a stored one matches), every SCRAM user
// not listed is deleted, and the ACLs of every principal User:<name> of a listed or deleted user
// become exactly the listed ones (allow, any host). A removed user can no longer authenticate and
// has no ACL left. ACLs of other principals are not touched.
//
// Requests: DescribeUserScramCredentials v0, AlterUserScramCredentials v0, DescribeAcls v3,
// CreateAcls v3, DeleteAcls v3, all flexible; layouts follow Kafka's message JSON files and are
// checked against franz-go's kmsg and kfake in the tests.

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

const (
	apiDescribeAcls                 = 29
	apiCreateAcls                   = 30
	apiDeleteAcls                   = 31
	apiDescribeUserScramCredentials = 50
	apiAlterUserScramCredentials    = 51

	aclsVersion  = 3
	scramVersion = 0

	// scramSHA512 is ScramMechanism SCRAM_SHA_512; scramIterations Kafka's minimum for it.
	scramSHA512     = 2
	scramIterations = 4096

	aclAny        = 1
	patternAny    = 1
	permAllow     = 3
	errNoSuchUser = 91 // RESOURCE_NOT_FOUND: describing a user without credentials
)

var (
	resourceTypes = map[string]int8{"topic": 2, "group": 3, "cluster": 4, "transactional-id": 5}
	patternTypes  = map[string]int8{"literal": 3, "prefixed": 4}
	aclOps        = map[string]int8{"all": 2, "read": 3, "write": 4, "create": 5, "delete": 6, "alter": 7, "describe": 8,
		"cluster-action": 9, "describe-configs": 10, "alter-configs": 11, "idempotent-write": 12}
)

// UserSpec is one user of the users file (kraft.User).
type UserSpec struct {
	Password string    `json:"password"`
	ACLs     []ACLSpec `json:"acls"`
}

// ACLSpec is kraft.ACL.
type ACLSpec struct {
	Resource   string   `json:"resource"`
	Name       string   `json:"name"`
	Pattern    string   `json:"pattern"`
	Operations []string `json:"operations"`
}

// Binding is one ACL as Kafka stores it.
type Binding struct {
	ResourceType int8
	ResourceName string
	PatternType  int8
	Principal    string
	Host         string
	Operation    int8
	Permission   int8
}

func (b Binding) String() string {
	return fmt.Sprintf("%s %s on %s %q (%s)", b.Principal, opName(b.Operation), typeName(b.ResourceType), b.ResourceName, patternName(b.PatternType))
}

func readUsers(path string) (map[string]UserSpec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var users map[string]UserSpec
	if err := json.Unmarshal(raw, &users); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, u := range users {
		if u.Password == "" {
			return nil, fmt.Errorf("%s: user %q has no password", path, name)
		}
	}
	return users, nil
}

// desiredBindings lists the ACLs of users, sorted.
func desiredBindings(users map[string]UserSpec) ([]Binding, error) {
	var out []Binding
	for name, u := range users {
		for _, a := range u.ACLs {
			rt, ok := resourceTypes[a.Resource]
			pt, ok2 := patternTypes[cmpOr(a.Pattern, "literal")]
			if !ok || !ok2 {
				return nil, fmt.Errorf("user %q: resource %q pattern %q unknown", name, a.Resource, a.Pattern)
			}
			for _, op := range a.Operations {
				code, ok := aclOps[op]
				if !ok {
					return nil, fmt.Errorf("user %q: operation %q unknown", name, op)
				}
				out = append(out, Binding{rt, a.Name, pt, "User:" + name, "*", code, permAllow})
			}
		}
	}
	sortBindings(out)
	return dedupeBindings(out), nil
}

// diffBindings returns what to create and what to delete so that the ACLs of the principals in
// managed are exactly want.
func diffBindings(have, want []Binding, managed map[string]bool) (create, remove []Binding) {
	inHave, inWant := map[Binding]bool{}, map[Binding]bool{}
	for _, b := range have {
		inHave[b] = true
	}
	for _, b := range want {
		inWant[b] = true
		if !inHave[b] {
			create = append(create, b)
		}
	}
	for _, b := range have {
		if managed[b.Principal] && !inWant[b] {
			remove = append(remove, b)
		}
	}
	return create, remove
}

// syncUsers makes the cluster's SCRAM users and their ACLs those of the users file.
func (c *clusterRun) syncUsers(users map[string]UserSpec) error {
	existing, err := c.scramUsers()
	if err != nil {
		return err
	}
	var upserts []scramUpsert
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// A printable salt, as Kafka's own tools make (130 random bits in base 36): librdkafka
		// (kcat) fails SCRAM against a credential whose salt is raw binary, kafka-go does not.
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		salt := []byte(base64.RawURLEncoding.EncodeToString(raw))
		salted, err := pbkdf2.Key(sha512.New, users[n].Password, salt, scramIterations, sha512.Size)
		if err != nil {
			return err
		}
		upserts = append(upserts, scramUpsert{Name: n, Salt: salt, Salted: salted})
	}
	managed := map[string]bool{}
	for _, n := range names {
		managed["User:"+n] = true
	}
	var deletions []string
	for _, n := range existing {
		if _, keep := users[n]; !keep {
			deletions = append(deletions, n)
			managed["User:"+n] = true
		}
	}
	// Credentials are set first (a new user's ACLs are of no use without them) but deleted last:
	// a removed user's ACLs go before its credentials, so a run that fails in between still sees
	// the user on its retry and removes the rest.
	if err := c.alterScram(upserts, nil); err != nil {
		return err
	}

	want, err := desiredBindings(users)
	if err != nil {
		return err
	}
	have, err := c.describeAcls()
	if err != nil {
		return err
	}
	create, remove := diffBindings(have, want, managed)
	if len(create) > 0 {
		if err := c.createAcls(create); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if err := c.deleteAcls(remove); err != nil {
			return err
		}
	}
	// Read back: the principals' ACLs must now be exactly the wanted ones. The broker asked may
	// apply the controller's change a moment after the request returned: ask until it has.
	if err := c.until("reading the ACLs back", 200*time.Millisecond, func() (bool, string, error) {
		have, err := c.describeAcls()
		if err != nil {
			return false, "", err
		}
		missing, unexpected := diffBindings(have, want, managed)
		return len(missing)+len(unexpected) == 0, fmt.Sprintf("missing %v, unexpected %v", missing, unexpected), nil
	}); err != nil {
		return err
	}
	c.logf("ACLs: %d wanted, %d created, %d deleted; read back: as wanted", len(want), len(create), len(remove))
	if err := c.alterScram(nil, deletions); err != nil {
		return err
	}
	c.logf("SCRAM users: %d set (%s), %d deleted %v", len(names), strings.Join(names, ", "), len(deletions), deletions)
	return nil
}

type scramUpsert struct {
	Name         string
	Salt, Salted []byte
}

func (c *clusterRun) scramUsers() ([]string, error) {
	var e encoder
	e.nullCompactArray() // every user
	e.emptyTags()
	b, err := c.call(apiDescribeUserScramCredentials, scramVersion, e.b)
	if err != nil {
		return nil, err
	}
	return decodeDescribeScramResponse(b)
}

func decodeDescribeScramResponse(b []byte) ([]string, error) {
	d := &decoder{b: b}
	d.int32()
	code, msg := d.int16(), d.compactString()
	var users []string
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		user := d.compactString()
		ucode, umsg := d.int16(), d.compactString()
		sha512 := false
		for j, m := 0, d.compactArrayLen(); j < m && d.err == nil; j++ {
			sha512 = sha512 || d.int8() == scramSHA512
			d.int32()
			d.skipTags()
		}
		d.skipTags()
		if ucode != 0 && ucode != errNoSuchUser && d.err == nil {
			return nil, fmt.Errorf("describe SCRAM credentials of %q: %w %d (%s): %s", user, errNotAnswered, ucode, errorName(ucode), umsg)
		}
		if sha512 {
			users = append(users, user)
		}
	}
	d.skipTags()
	if d.err != nil {
		return nil, fmt.Errorf("describe user scram credentials v%d: %w", scramVersion, d.err)
	}
	if code != 0 {
		return nil, fmt.Errorf("describe SCRAM credentials: %w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
	}
	sort.Strings(users)
	return users, nil
}

func encodeAlterScramRequest(upserts []scramUpsert, deletions []string) []byte {
	var e encoder
	e.compactArrayLen(len(deletions))
	for _, n := range deletions {
		e.compactString(n)
		e.int8(scramSHA512)
		e.emptyTags()
	}
	e.compactArrayLen(len(upserts))
	for _, u := range upserts {
		e.compactString(u.Name)
		e.int8(scramSHA512)
		e.int32(scramIterations)
		e.compactBytes(u.Salt)
		e.compactBytes(u.Salted)
		e.emptyTags()
	}
	e.emptyTags()
	return e.b
}

func (c *clusterRun) alterScram(upserts []scramUpsert, deletions []string) error {
	if len(upserts)+len(deletions) == 0 {
		return nil
	}
	b, err := c.callController(apiAlterUserScramCredentials, scramVersion, encodeAlterScramRequest(upserts, deletions))
	if err != nil {
		return err
	}
	d := &decoder{b: b}
	d.int32()
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		user := d.compactString()
		code, msg := d.int16(), d.compactString()
		d.skipTags()
		if code != 0 && d.err == nil {
			return fmt.Errorf("alter SCRAM credentials of %q: %w %d (%s): %s", user, errNotAnswered, code, errorName(code), msg)
		}
	}
	if d.err != nil {
		return fmt.Errorf("alter user scram credentials v%d: %w", scramVersion, d.err)
	}
	return nil
}

func encodeDescribeAclsRequest() []byte {
	var e encoder
	e.int8(aclAny)     // resource type
	e.uvarint(0)       // resource name: null (any)
	e.int8(patternAny) // pattern type
	e.uvarint(0)       // principal: any
	e.uvarint(0)       // host: any
	e.int8(aclAny)     // operation
	e.int8(aclAny)     // permission
	e.emptyTags()
	return e.b
}

func (c *clusterRun) describeAcls() ([]Binding, error) {
	b, err := c.call(apiDescribeAcls, aclsVersion, encodeDescribeAclsRequest())
	if err != nil {
		return nil, err
	}
	return decodeDescribeAclsResponse(b)
}

func decodeDescribeAclsResponse(b []byte) ([]Binding, error) {
	d := &decoder{b: b}
	d.int32()
	code, msg := d.int16(), d.compactString()
	var out []Binding
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		rt, name, pt := d.int8(), d.compactString(), d.int8()
		for j, m := 0, d.compactArrayLen(); j < m && d.err == nil; j++ {
			out = append(out, Binding{rt, name, pt, d.compactString(), d.compactString(), d.int8(), d.int8()})
			d.skipTags()
		}
		d.skipTags()
	}
	d.skipTags()
	if d.err != nil {
		return nil, fmt.Errorf("describe acls v%d: %w", aclsVersion, d.err)
	}
	if code != 0 {
		return nil, fmt.Errorf("describe ACLs: %w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
	}
	sortBindings(out)
	return out, nil
}

func (e *encoder) binding(b Binding) {
	e.int8(b.ResourceType)
	e.compactString(b.ResourceName)
	e.int8(b.PatternType)
	e.compactString(b.Principal)
	e.compactString(b.Host)
	e.int8(b.Operation)
	e.int8(b.Permission)
	e.emptyTags()
}

// encodeBindingsRequest is CreateAcls v3 (creations) and DeleteAcls v3 (filters) alike: both are
// an array of the seven binding fields. A deletion filter with every field set matches exactly that
// binding.
func encodeBindingsRequest(bs []Binding) []byte {
	var e encoder
	e.compactArrayLen(len(bs))
	for _, b := range bs {
		e.binding(b)
	}
	e.emptyTags()
	return e.b
}

func (c *clusterRun) createAcls(bs []Binding) error {
	b, err := c.callController(apiCreateAcls, aclsVersion, encodeBindingsRequest(bs))
	if err != nil {
		return err
	}
	d := &decoder{b: b}
	d.int32()
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		code, msg := d.int16(), d.compactString()
		d.skipTags()
		if code != 0 && d.err == nil && i < len(bs) {
			return fmt.Errorf("create ACL %s: %w %d (%s): %s", bs[i], errNotAnswered, code, errorName(code), msg)
		}
	}
	if d.err != nil {
		return fmt.Errorf("create acls v%d: %w", aclsVersion, d.err)
	}
	return nil
}

func (c *clusterRun) deleteAcls(bs []Binding) error {
	b, err := c.callController(apiDeleteAcls, aclsVersion, encodeBindingsRequest(bs))
	if err != nil {
		return err
	}
	d := &decoder{b: b}
	d.int32()
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		code, msg := d.int16(), d.compactString()
		for j, m := 0, d.compactArrayLen(); j < m && d.err == nil; j++ {
			d.int16()
			d.compactString()
			d.int8()
			d.compactString()
			d.int8()
			d.compactString()
			d.compactString()
			d.int8()
			d.int8()
			d.skipTags()
		}
		d.skipTags()
		if code != 0 && d.err == nil && i < len(bs) {
			return fmt.Errorf("delete ACL %s: %w %d (%s): %s", bs[i], errNotAnswered, code, errorName(code), msg)
		}
	}
	if d.err != nil {
		return fmt.Errorf("delete acls v%d: %w", aclsVersion, d.err)
	}
	return nil
}

func sortBindings(bs []Binding) {
	sort.Slice(bs, func(i, j int) bool {
		return bs[i].String() < bs[j].String() || (bs[i].String() == bs[j].String() && bs[i].Permission < bs[j].Permission)
	})
}

func dedupeBindings(bs []Binding) []Binding {
	var out []Binding
	for i, b := range bs {
		if i == 0 || b != bs[i-1] {
			out = append(out, b)
		}
	}
	return out
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nameOf[K comparable](m map[string]K, v K) string {
	for n, c := range m {
		if c == v {
			return n
		}
	}
	return fmt.Sprint(v)
}

func opName(v int8) string      { return nameOf(aclOps, v) }
func typeName(v int8) string    { return nameOf(resourceTypes, v) }
func patternName(v int8) string { return nameOf(patternTypes, v) }
