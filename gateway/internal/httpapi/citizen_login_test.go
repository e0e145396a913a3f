package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// citizenPersonalData are the spellings of the test citizen's ID number, name
// and phone that must never appear in a log line.
func citizenPersonalData() []string {
	var escaped strings.Builder // the name as a JSON encoder escaping non-ASCII writes it
	for _, r := range citizenName {
		fmt.Fprintf(&escaped, `\u%04x`, r)
	}
	return []string{applicant, strings.ToLower(applicant), applicant[:17], applicant[6:14],
		citizenName, escaped.String(), citizenPhone, citizenPhone[3:]}
}

// TestCitizenLoginLogsNoCodeAndNoPersonalData: the one-time code goes to
// the code sender and never to the log, and no ID number, name or phone
// reaches any log line, whether the login succeeds, fails validation, does
// not match the register or the code is wrong.
func TestCitizenLoginLogsNoCodeAndNoPersonalData(t *testing.T) {
	h := newCitizenHarness(t)
	h.login(applicant)
	h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, "12"))
	h.as("", "POST", "/citizen/v1/login", loginBody(applicant[:17]+"0", citizenName, citizenPhone))
	h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName+"丰", citizenPhone))
	w := h.as("", "POST", "/citizen/v1/login", loginBody(" "+strings.ToLower(applicant)+" ", citizenName, "+86 "+citizenPhone))
	if w.Code != http.StatusOK {
		t.Fatalf("login with spaces and +86: %d %s", w.Code, w.Body)
	}
	lr := decodeBody[loginResponse](t, w)
	h.as("", "POST", "/citizen/v1/login/verify", `{"challenge_id":"`+lr.ChallengeID+`","code":"000000"}`)
	code := h.devCode(lr.ChallengeID)

	logs := h.logs.String()
	if h.codes.count() != 2 {
		t.Fatalf("%d codes sent, want 2", h.codes.count())
	}
	if strings.Contains(logs, "one-time code") || strings.Contains(logs, `"code":"`+code) || strings.Contains(logs, code) {
		t.Fatalf("a one-time code reached the log:\n%s", logs)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		for _, s := range citizenPersonalData() {
			if strings.Contains(line, s) {
				t.Errorf("log line contains personal data %q:\n%s", s, line)
			}
		}
	}
}

// TestCitizenLoginSendsToRegisteredPhone: the code goes to the phone the
// register holds, as it spells it, not as it was typed; without a register
// or a code sender login is unavailable and creates nothing, in
// development mode too.
func TestCitizenLoginSendsToRegisteredPhone(t *testing.T) {
	h := newCitizenHarness(t)
	w := h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, "+86 138-0013-8000"))
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	lr := decodeBody[loginResponse](t, w)
	sent, ok := h.codes.sent(lr.ChallengeID)
	if !ok || sent.Phone != citizenPhone || len(sent.Code) != 6 || !sent.ExpiresAt.Equal(now.Add(loginCodeTTL)) {
		t.Fatalf("sent %+v (%v)", sent, ok)
	}
	w = h.as("", "POST", "/citizen/v1/login/verify", `{"challenge_id":"`+lr.ChallengeID+`","code":"`+sent.Code+`"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("verify: %d %s", w.Code, w.Body)
	}

	h.codes.fail = true
	w = h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, citizenPhone))
	if w.Code != http.StatusServiceUnavailable || errCode(t, w) != CodeLoginUnavailable {
		t.Fatalf("sender down: %d %s", w.Code, w.Body)
	}
	for _, s := range citizenPersonalData() {
		if strings.Contains(h.logs.String(), s) {
			t.Errorf("log contains personal data %q", s)
		}
	}

	for name, mod := range map[string]func(*config.Config, *CitizenConfig){
		"no sender":   func(_ *config.Config, cc *CitizenConfig) { cc.Codes = nil },
		"no register": func(_ *config.Config, cc *CitizenConfig) { cc.Register = nil },
	} {
		none := newCitizenHarness(t, mod)
		w = none.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, citizenPhone))
		if w.Code != http.StatusServiceUnavailable || errCode(t, w) != CodeLoginUnavailable {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
	}
}

// TestCitizenLoginRefusesWhatTheRegisterDoesNotHold: a wrong name, a
// wrong phone, both, and an ID number the register does not hold are
// refused with one answer that names no field; no code is sent and no
// challenge made.
func TestCitizenLoginRefusesWhatTheRegisterDoesNotHold(t *testing.T) {
	other := withCheck("37010219900101123")
	h := newCitizenHarness(t, func(_ *config.Config, cc *CitizenConfig) {
		cc.Register = citizenRegister{entries: map[string][2]string{applicant: {citizenName, citizenPhone}}}
	})
	var first string
	for name, body := range map[string]string{
		"wrong name":          loginBody(applicant, "张三", citizenPhone),
		"wrong phone":         loginBody(applicant, citizenName, "13900139000"),
		"both wrong":          loginBody(applicant, "李四", "13900139000"),
		"unregistered number": loginBody(other, citizenName, citizenPhone),
	} {
		w := h.as("", "POST", "/citizen/v1/login", body)
		if w.Code != http.StatusUnprocessableEntity || errCode(t, w) != CodeIdentityNotMatched {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
		var e errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		msg := e.Error.Code + " " + e.Error.Message
		for _, field := range []string{"id_number ", "name ", "phone "} {
			if strings.HasPrefix(e.Error.Message, field) {
				t.Errorf("%s: the answer names a field: %q", name, msg)
			}
		}
		if first == "" {
			first = msg
		} else if msg != first {
			t.Errorf("%s: answer %q differs from %q", name, msg, first)
		}
	}
	if n := h.codes.count(); n != 0 {
		t.Fatalf("%d codes sent for refused logins", n)
	}
	if w := h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, citizenPhone)); w.Code != http.StatusOK {
		t.Fatalf("the registered citizen: %d %s", w.Code, w.Body)
	}
}

// TestCitizenLoginAttempts: wrong and expired codes are 401 INVALID_CODE;
// a challenge out of attempts is 429 TOO_MANY_ATTEMPTS, even for the right
// code; a code works once.
func TestCitizenLoginAttempts(t *testing.T) {
	h := newCitizenHarness(t)
	start := func() (string, string) {
		w := h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, citizenPhone))
		lr := decodeBody[loginResponse](t, w)
		return lr.ChallengeID, h.devCode(lr.ChallengeID)
	}
	verify := func(id, code string) *httptest.ResponseRecorder {
		return h.as("", "POST", "/citizen/v1/login/verify", `{"challenge_id":"`+id+`","code":"`+code+`"}`)
	}
	wrong := func(code string) string {
		if code == "000000" {
			return "000001"
		}
		return "000000"
	}

	id, code := start()
	for i := range 4 {
		if w := verify(id, wrong(code)); w.Code != http.StatusUnauthorized || errCode(t, w) != CodeInvalidCode {
			t.Fatalf("wrong code %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := verify(id, wrong(code)); w.Code != http.StatusTooManyRequests || errCode(t, w) != CodeTooManyAttempts {
		t.Fatalf("fifth wrong code: %d %s", w.Code, w.Body)
	}
	if w := verify(id, code); w.Code != http.StatusTooManyRequests || errCode(t, w) != CodeTooManyAttempts {
		t.Fatalf("right code after the attempts: %d %s", w.Code, w.Body)
	}

	id, code = start()
	if w := verify(id, code); w.Code != http.StatusOK {
		t.Fatalf("right code: %d %s", w.Code, w.Body)
	}
	if w := verify(id, code); w.Code != http.StatusUnauthorized || errCode(t, w) != CodeInvalidCode {
		t.Fatalf("code used twice: %d %s", w.Code, w.Body)
	}

	id, code = start()
	h.srv.Now = func() time.Time { return now.Add(loginCodeTTL + time.Second) }
	if w := verify(id, code); w.Code != http.StatusUnauthorized || errCode(t, w) != CodeInvalidCode {
		t.Fatalf("expired code: %d %s", w.Code, w.Body)
	}
}

// TestAttemptCounter: a challenge's count of wrong codes lives attemptTTL
// after the last wrong code, and an answered challenge's count is dropped.
// The test runs in a synctest bubble, whose clock time.Sleep moves.
func TestAttemptCounter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAttemptCounter()
		for want := 1; want <= store.MaxLoginAttempts; want++ {
			if got := a.fail("c1"); got != want {
				t.Fatalf("wrong code %d: fail = %d", want, got)
			}
			time.Sleep(attemptTTL - time.Nanosecond) // each wrong code keeps the count
		}
		if got := a.count("c1"); got != store.MaxLoginAttempts {
			t.Fatalf("count = %d, want %d", got, store.MaxLoginAttempts)
		}
		if got := a.count("c2"); got != 0 {
			t.Fatalf("count of another challenge = %d, want 0", got)
		}
		time.Sleep(time.Nanosecond)
		if got := a.count("c1"); got != 0 {
			t.Fatalf("count %v after the last wrong code = %d, want 0", attemptTTL, got)
		}
		if got := a.fail("c1"); got != 1 {
			t.Fatalf("a wrong code after the count expired: fail = %d, want 1", got)
		}

		a.fail("c2")
		a.forget("c2")
		if got := a.count("c2"); got != 0 {
			t.Fatalf("count after forget = %d, want 0", got)
		}

		// Concurrent wrong codes are each counted.
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { a.fail("c3") })
		}
		wg.Wait()
		if got := a.count("c3"); got != 20 {
			t.Fatalf("count after 20 concurrent wrong codes = %d, want 20", got)
		}
	})
}

// postFrom sends a POST from a remote address.
func (h *citizenHarness) postFrom(addr, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = addr
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

// retryAfter is a 429's Retry-After in seconds, or -1.
func retryAfter(w *httptest.ResponseRecorder) int {
	n, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil {
		return -1
	}
	return n
}

// TestCitizenLoginRateLimitPerAddress: at the documented rate — 5 login
// and code attempts a minute per remote address, by default — a sixth
// attempt within the minute is refused however the five were spread, with
// the wait in Retry-After; another address is not affected. (The token
// bucket this replaced let a sixth through 12 seconds after a burst of
// five, and the local network's 120 a minute let 16 through in 10 ms.)
func TestCitizenLoginRateLimitPerAddress(t *testing.T) {
	clock := &testClock{t: now}
	h := newCitizenHarnessAt(t, clock.now, func(_ *config.Config, cc *CitizenConfig) { cc.LoginsPerMinute = 0 })
	body := loginBody(applicant, citizenName, citizenPhone)
	for i := range 4 {
		if w := h.postFrom("198.51.100.7:4000", "/citizen/v1/login", body); w.Code != http.StatusOK {
			t.Fatalf("login %d: %d %s", i, w.Code, w.Body)
		}
	}
	verify := `{"challenge_id":"` + strings.Repeat("a", 32) + `","code":"123456"}`
	if w := h.postFrom("198.51.100.7:4001", "/citizen/v1/login/verify", verify); w.Code != http.StatusUnauthorized {
		t.Fatalf("fifth attempt, a code: %d %s", w.Code, w.Body)
	}
	clock.set(clock.now().Add(12 * time.Second))
	w := h.postFrom("198.51.100.7:4002", "/citizen/v1/login", body)
	if w.Code != http.StatusTooManyRequests || errCode(t, w) != CodeRateLimited || retryAfter(w) != 48 {
		t.Fatalf("sixth attempt 12 s later: %d Retry-After %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := h.postFrom("198.51.100.7:4003", "/citizen/v1/login/verify", verify); w.Code != http.StatusTooManyRequests {
		t.Fatalf("a code from the same address: %d %s", w.Code, w.Body)
	}
	if w := h.postFrom("203.0.113.9:4000", "/citizen/v1/login", body); w.Code != http.StatusOK {
		t.Fatalf("another address: %d %s", w.Code, w.Body)
	}
	clock.set(clock.now().Add(48*time.Second - time.Nanosecond))
	if w := h.postFrom("198.51.100.7:4004", "/citizen/v1/login", body); w.Code != http.StatusTooManyRequests {
		t.Fatalf("just under a minute after the first: %d %s", w.Code, w.Body)
	}
	clock.set(clock.now().Add(time.Nanosecond))
	if w := h.postFrom("198.51.100.7:4005", "/citizen/v1/login", body); w.Code != http.StatusOK {
		t.Fatalf("a minute after the first: %d %s", w.Code, w.Body)
	}
	if n := h.codes.count(); n != 6 {
		t.Errorf("%d challenges created, want 6", n)
	}

	// Sixteen at once, as the issue measured: five pass.
	passed := 0
	for i := range 16 {
		if w := h.postFrom(fmt.Sprintf("192.0.2.1:%d", 5000+i), "/citizen/v1/login", body); w.Code == http.StatusOK {
			passed++
		}
	}
	if passed != 5 {
		t.Fatalf("%d of 16 attempts at once passed, want 5", passed)
	}
}

// TestCitizenLoginRateLimitPerCitizen: login starts and code attempts are
// limited per citizen, 5 each in any 15 minutes by default, from whatever
// addresses they come; an unregistered or mismatched login counts too, and
// other citizens are not affected.
func TestCitizenLoginRateLimitPerCitizen(t *testing.T) {
	clock := &testClock{t: now}
	other := withCheck("37010219900101123")
	h := newCitizenHarnessAt(t, clock.now, func(_ *config.Config, cc *CitizenConfig) { cc.CitizenStarts, cc.CitizenCodes = 0, 0 })
	addr := func(i int) string { return fmt.Sprintf("198.51.100.%d:4000", 10+i) }
	var challenges []string
	for i := range 5 {
		body := loginBody(applicant, citizenName, citizenPhone)
		if i == 4 {
			body = loginBody(applicant, "李四", citizenPhone) // refused, but counted
		}
		w := h.postFrom(addr(i), "/citizen/v1/login", body)
		if i < 4 && w.Code != http.StatusOK || i == 4 && w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("login %d: %d %s", i, w.Code, w.Body)
		}
		if i < 4 {
			challenges = append(challenges, decodeBody[loginResponse](t, w).ChallengeID)
		}
		clock.set(clock.now().Add(30 * time.Second))
	}
	w := h.postFrom(addr(5), "/citizen/v1/login", loginBody(applicant, citizenName, citizenPhone))
	if w.Code != http.StatusTooManyRequests || errCode(t, w) != CodeRateLimited || retryAfter(w) != 15*60-150 {
		t.Fatalf("sixth login, from a sixth address: %d Retry-After %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := h.postFrom(addr(6), "/citizen/v1/login", loginBody(other, citizenName, citizenPhone)); w.Code != http.StatusOK {
		t.Fatalf("another citizen: %d %s", w.Code, w.Body)
	}

	// Five codes across the citizen's challenges and addresses; the sixth,
	// even the right one, waits.
	for i := range 5 {
		body := `{"challenge_id":"` + challenges[i%len(challenges)] + `","code":"` + wrongCode(h.devCode(challenges[i%len(challenges)])) + `"}`
		if w := h.postFrom(addr(10+i), "/citizen/v1/login/verify", body); w.Code != http.StatusUnauthorized {
			t.Fatalf("code %d: %d %s", i, w.Code, w.Body)
		}
	}
	right := `{"challenge_id":"` + challenges[3] + `","code":"` + h.devCode(challenges[3]) + `"}`
	w = h.postFrom(addr(20), "/citizen/v1/login/verify", right)
	if w.Code != http.StatusTooManyRequests || errCode(t, w) != CodeRateLimited || retryAfter(w) < 1 {
		t.Fatalf("sixth code: %d %s", w.Code, w.Body)
	}
	clock.set(clock.now().Add(citizenWindow))
	if w := h.postFrom(addr(21), "/citizen/v1/login", loginBody(applicant, citizenName, citizenPhone)); w.Code != http.StatusOK {
		t.Fatalf("login after the window: %d %s", w.Code, w.Body)
	}
}

func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}
