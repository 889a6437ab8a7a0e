package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Person is a fake person standing in for a real customer in a test
// environment (the peak rehearsal, a test-environment copy).
type Person struct {
	FirstName, LastName, Email string
}

// Name is the person's full name.
func (p Person) Name() string { return p.FirstName + " " + p.LastName }

// PseudonymDomain is where fake people's e-mails are: a domain reserved for
// examples (RFC 2606), which no mail ever reaches.
const PseudonymDomain = "example.com"

var (
	fakeFirst = []string{"Alex", "Bea", "Cyril", "Dana", "Emil", "Fern", "Gus", "Hana", "Ivo", "Jade", "Kai", "Lena",
		"Milo", "Nora", "Otto", "Pia", "Quin", "Rosa", "Sami", "Tess", "Ugo", "Vera", "Wim", "Xena", "Yann", "Zoe",
		"Aldo", "Bruna", "Cleo", "Dirk", "Elsa", "Finn"}
	fakeLast = []string{"Ashdown", "Birch", "Copper", "Dale", "Elmwood", "Fairley", "Glen", "Hollis", "Ivory", "Juniper",
		"Kestrel", "Linden", "Marsh", "Northcott", "Oakley", "Pemberton", "Quarry", "Rowan", "Sterling", "Thorne",
		"Underhill", "Vale", "Westbrook", "Yarrow", "Alder", "Bramble", "Calder", "Dunmore", "Everly", "Fenwick",
		"Granger", "Heath"}
)

// Pseudonym is the fake person a real customer becomes under key: a keyed
// hash (HMAC-SHA256) of who they are (their id or e-mail, as the caller
// names them) picks a first and last name, and the e-mail is those names
// with part of the hash at example.com. The same customer always becomes the
// same fake person under one key; without the key nobody can tell who it
// was, and nothing of the real customer is in it.
func Pseudonym(key []byte, who string) Person {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(strings.ToLower(strings.TrimSpace(who))))
	sum := mac.Sum(nil)
	first := fakeFirst[binary.BigEndian.Uint32(sum[0:4])%uint32(len(fakeFirst))]
	last := fakeLast[binary.BigEndian.Uint32(sum[4:8])%uint32(len(fakeLast))]
	// Eight hex digits: distinct e-mails for distinct customers (a partner
	// per e-mail in the ERP), short enough to read.
	email := strings.ToLower(first+"."+last) + "." + hex.EncodeToString(sum[8:12]) + "@" + PseudonymDomain
	return Person{FirstName: first, LastName: last, Email: email}
}

// PersonKey is a person's keyed hash (HMAC-SHA256, 16 bytes) under key:
// how Crossdock counts the people it holds without keeping who they are a
// second time.
func PersonKey(key []byte, who string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(strings.ToLower(strings.TrimSpace(who))))
	return mac.Sum(nil)[:16]
}
