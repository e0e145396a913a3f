package provider

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"net/url"
)

//go:embed login.html
var loginHTML string

var loginTemplate = template.Must(template.New("login").Parse(loginHTML))

// msgKey names a message of the login page.
type msgKey string

const (
	msgRequestGone     msgKey = "request_gone"
	msgUnavailable     msgKey = "unavailable"
	msgInvalidID       msgKey = "invalid_id"
	msgInvalidName     msgKey = "invalid_name"
	msgInvalidPhone    msgKey = "invalid_phone"
	msgNotMatched      msgKey = "not_matched"
	msgTooManyAttempts msgKey = "too_many_attempts"
	msgWrongCode       msgKey = "wrong_code"
	msgTooManyCodes    msgKey = "too_many_codes"
	msgCodeGone        msgKey = "code_gone"
)

// texts are the page's words, Chinese first.
var texts = map[string]map[string]string{
	"zh": {
		"title": "统一身份认证（开发环境）", "other_lang": "English", "other_code": "en",
		"step1": "实名核验", "id_number": "公民身份号码", "name": "姓名", "phone": "手机号码", "send": "获取验证码",
		"step2":   "短信验证码",
		"sent":    "验证码已发送至登记的手机号码 %s。",
		"devnote": "开发环境不发送短信：验证码写在验证码目录中名为下列编号的文件里（权限 0600）。",
		"chid":    "验证码编号", "code": "验证码", "login": "登录", "restart": "重新填写",
		"dev": "仅供开发和测试使用，不是真实的统一身份认证。",

		string(msgRequestGone):     "登录请求无效或已过期，请返回应用重新登录。",
		string(msgUnavailable):     "服务暂不可用，请稍后再试。",
		string(msgInvalidID):       "请输入18位有效的公民身份号码。",
		string(msgInvalidName):     "请输入登记的姓名（1–64个字）。",
		string(msgInvalidPhone):    "请输入11位手机号码。",
		string(msgNotMatched):      "公民身份号码、姓名与手机号码与实名登记信息不一致。",
		string(msgTooManyAttempts): "尝试次数过多，请稍后再试。",
		string(msgWrongCode):       "验证码错误或已过期。",
		string(msgTooManyCodes):    "验证码错误次数过多，请重新获取验证码。",
		string(msgCodeGone):        "请先获取验证码。",
	},
	"en": {
		"title": "Unified Identity Authentication (development)", "other_lang": "中文", "other_code": "zh",
		"step1": "Real-name check", "id_number": "Resident ID number", "name": "Name", "phone": "Mobile phone", "send": "Send code",
		"step2":   "One-time code",
		"sent":    "A code was sent to the registered phone %s.",
		"devnote": "No text messages in development: the code is in the code directory, in the file named by the number below (mode 0600).",
		"chid":    "Code number", "code": "Code", "login": "Log in", "restart": "Start again",
		"dev": "For development and tests only; not the real identity provider.",

		string(msgRequestGone):     "This login request is invalid or has expired; go back to the app and log in again.",
		string(msgUnavailable):     "The service is unavailable; try again later.",
		string(msgInvalidID):       "Enter a valid 18-character resident ID number.",
		string(msgInvalidName):     "Enter the registered name (1–64 letters).",
		string(msgInvalidPhone):    "Enter an 11-digit mobile number.",
		string(msgNotMatched):      "The ID number, name and phone do not match the real-name register.",
		string(msgTooManyAttempts): "Too many attempts; try again later.",
		string(msgWrongCode):       "The code is wrong or has expired.",
		string(msgTooManyCodes):    "Too many wrong codes; ask for a new code.",
		string(msgCodeGone):        "Ask for a code first.",
	},
}

// view is what the template shows.
type view struct {
	Lang, OtherURL string
	T              map[string]string
	Error          string
	// Bound: the forms of auth request ID, with its CSRF token.
	ID, CSRF string
	// Step 2: a code was sent.
	ChallengeID, MaskedPhone string
	// formAction is the CSP form-action ("'self'" when empty).
	formAction string
}

func newView(lang string) *view {
	if lang != "en" {
		lang = "zh"
	}
	return &view{Lang: lang, T: texts[lang]}
}

// bind shows the forms of a.
func (v *view) bind(a *authRequest, csrf string) {
	v.ID, v.CSRF = a.id, csrf
	v.ChallengeID, v.MaskedPhone = "", ""
	if a.challenge != nil {
		v.ChallengeID, v.MaskedPhone = a.challenge.id, maskPhone(a.challenge.phone)
	}
}

func maskPhone(p string) string {
	if len(p) != 11 {
		return "***"
	}
	return p[:3] + "****" + p[7:]
}

// render writes the page with status and, unless empty, the message.
func (v *view) render(w http.ResponseWriter, status int, msg msgKey) {
	if msg != "" {
		v.Error = v.T[string(msg)]
	}
	if v.ID != "" {
		q := url.Values{"authRequestID": {v.ID}, "lang": {v.T["other_code"]}}
		v.OtherURL = loginPath + "?" + q.Encode()
	}
	var b bytes.Buffer
	if err := loginTemplate.Execute(&b, v); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	fa := v.formAction
	if fa == "" {
		fa = "'self'"
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+fa+"; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
