package model

import "regexp"

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$`)
	mspPattern      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.-]{0,63}$`)
	categoryPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)
	purposePattern  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,31}$`)
	hexHashPattern  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// idNumberPattern is the form of a resident ID number (GB 11643): 17
	// digits and a digit or X, anywhere in a string.
	idNumberPattern = regexp.MustCompile(`[0-9]{17}[0-9Xx]`)
)

// ValidID reports whether s is a valid identifier for authorisations,
// accesses and batches: 3–64 characters of letters, digits, '_', '.', '-',
// that nowhere hold 17 digits followed by a digit or X (either case). Ids
// are keys in the clear on every peer, so an id can never carry a citizen's
// ID number, valid or not.
func ValidID(s string) bool { return idPattern.MatchString(s) && !idNumberPattern.MatchString(s) }

// HasIDNumber reports whether s holds, anywhere, the form of a resident ID
// number: 17 digits followed by a digit or X (either case). Free text that
// reaches the ledger, even hashed, is refused if it does.
func HasIDNumber(s string) bool { return idNumberPattern.MatchString(s) }

// ValidMSPID reports whether s looks like a Fabric MSP ID.
func ValidMSPID(s string) bool { return mspPattern.MatchString(s) }

// ValidCategoryCode reports whether s is a category code such as housing_fund.
func ValidCategoryCode(s string) bool { return categoryPattern.MatchString(s) }

// ValidPurposeCode reports whether s is a purpose code such as
// CREDIT_ASSESSMENT; reason codes of revocations use the same form.
func ValidPurposeCode(s string) bool { return purposePattern.MatchString(s) }

// ValidHash reports whether s is a lower-case hex SHA-256 digest. A citizenRef
// has the same form (a keyed SHA-256), so an ID number can never pass for one.
func ValidHash(s string) bool { return hexHashPattern.MatchString(s) }
