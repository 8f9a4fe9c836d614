"""The web app's words, Persian and English, in one place (SPEC §12: Persian by default).

Templates call `t("key")`; stage names and event kinds go through `stage()` and `kind()`. Digits
are shown in Persian when the page is Persian (`digits`); anything typed is read in any script by
the domain (naming.ascii_digits), so nothing here parses input.
"""

from __future__ import annotations

from ..naming import PERSIAN_DIGITS

LANGUAGES = ("fa", "en")

WORDS: dict[str, tuple[str, str]] = {
    "app": ("بایگانی", "Archivist"),
    "login": ("ورود", "Log in"),
    "logout": ("خروج", "Log out"),
    "staff_number": ("شماره کارشناس", "Staff number"),
    "password": ("رمز عبور", "Password"),
    "login_failed": ("شماره کارشناس یا رمز عبور نادرست است.", "Wrong staff number or password."),
    "login_throttled": ("تلاش‌های ناموفق زیاد بود؛ یک دقیقه دیگر دوباره امتحان کنید.",
                        "Too many failed attempts; try again in a minute."),
    "session_expired": ("نشست شما به پایان رسید؛ دوباره وارد شوید.", "Your session ended; please log in again."),
    "search": ("جستجو", "Search"),
    "search_hint": ("نام شرکت، کد، تلفن، شماره قرارداد یا فاکتور…", "Company, code, phone, contract or invoice number…"),
    "my_records": ("پرونده‌های باز من، فوری‌ترین اول", "My open records, most urgent first"),
    "results": ("نتیجه", "results"),
    "no_results": ("چیزی پیدا نشد.", "Nothing found."),
    "all_stages": ("همه مراحل", "All stages"),
    "all_staff": ("همه کارشناسان", "All staff"),
    "open_only": ("باز", "Open"),
    "archived_only": ("بایگانی‌شده", "Archived"),
    "open_and_archived": ("باز و بایگانی‌شده", "Open and archived"),
    "filter": ("اعمال", "Apply"),
    "my_day": ("کارهای امروز من", "My day"),
    "register": ("ثبت متقاضی", "Register"),
    "master_list": ("فهرست متقاضیان و مشتریان (F-31-08-02)", "Applicants and customers (F-31-08-02)"),
    "master_short": ("فهرست اصلی", "Master list"),
    "export_xlsx": ("دریافت XLSX", "Download XLSX"),
    "export_csv": ("دریافت CSV", "Download CSV"),
    "lead": ("کد متقاضی", "Applicant code"),
    "case": ("کد پرونده", "Case code"),
    "company": ("نام شرکت", "Company"),
    "staff": ("کارشناس", "Staff"),
    "stage": ("مرحله", "Stage"),
    "next_followup": ("پیگیری بعدی", "Next follow-up"),
    "contact": ("تماس", "Contact"),
    "person": ("نام رابط", "Contact person"),
    "consultant": ("مشاور", "Consultant"),
    "mobile": ("موبایل", "Mobile"),
    "phone": ("تلفن", "Phone"),
    "messenger": ("پیام‌رسان", "Messenger"),
    "email": ("ایمیل", "Email"),
    "services": ("خدمات درخواستی", "Requested services"),
    "requests": ("درخواست‌ها", "Requests"),
    "contract": ("قرارداد", "Contract"),
    "invoices": ("فاکتورها", "Invoices"),
    "contract_invoices": ("قرارداد و فاکتورها", "Contract and invoices"),
    "invoice_number": ("شماره", "Number"),
    "tax_id": ("شناسه مالیاتی", "Tax ID"),
    "amount": ("مبلغ", "Amount"),
    "date": ("تاریخ", "Date"),
    "timeline": ("سوابق", "Timeline"),
    "by": ("توسط", "By"),
    "kind": ("نوع", "Kind"),
    "note": ("یادداشت", "Note"),
    "files": ("فایل‌ها", "Files"),
    "no_files": ("فایلی در پوشه نیست.", "No files in the folder."),
    "download": ("دریافت", "Download"),
    "preview": ("پیش‌نمایش", "Preview"),
    "upload": ("بارگذاری", "Upload"),
    "drop_here": ("فایل‌ها را اینجا رها کنید یا انتخاب کنید", "Drop files here or choose them"),
    "uploaded": ("فایل در پوشه پرونده ذخیره شد", "Saved in the record folder"),
    "too_big": ("فایل بزرگ‌تر از حد مجاز است", "The file is larger than allowed"),
    "actions": ("اقدام‌ها", "Actions"),
    "not_now": ("فعلاً ممکن نیست", "Not possible now"),
    "done": ("انجام شد", "Done"),
    "refused": ("انجام نشد", "Refused"),
    "overdue": ("گذشته از موعد", "Overdue"),
    "today": ("امروز", "Today"),
    "stuck": ("متوقف", "Stuck"),
    "office": ("وضعیت دفتر", "Office"),
    "violations": ("ایرادهای نام‌گذاری", "Naming violations"),
    "unfiled": ("فایل‌های بایگانی‌نشده صندوق ورودی", "Unfiled inbox files"),
    "last_backup": ("آخرین پشتیبان", "Last backup"),
    "daemon": ("سرویس پس‌زمینه", "Daemon"),
    "running": ("در حال اجرا", "running"),
    "not_running": ("اجرا نمی‌شود", "not running"),
    "never": ("هرگز", "never"),
    "overdue_backup": ("پشتیبان‌گیری عقب افتاده؛ دیسک را وصل کنید", "backup overdue; plug in the drive"),
    "none": ("—", "—"),
    "save": ("ذخیره", "Save"),
    "check": ("بررسی", "Check"),
    "likely_returning": ("این شرکت احتمالاً قبلاً ثبت شده است:", "This company is probably already known:"),
    "confirm_returning": ("با این وجود ثبت شود (به پرونده‌های قبلی پیوند می‌خورد)",
                          "Register anyway (linked to the earlier records)"),
    "registered": ("ثبت شد", "Registered"),
    "not_found": ("پیدا نشد", "Not found"),
    "error": ("خطایی رخ داد؛ دوباره امتحان کنید یا به مدیر سیستم خبر دهید.",
              "Something went wrong; try again or tell whoever runs the office machine."),
    "forbidden": ("درخواست نامعتبر بود (فرم قدیمی؟)؛ صفحه را دوباره باز کنید.",
                  "The request was not accepted (an old form?); reload the page."),
    "records_count": ("پرونده", "records"),
    "page": ("صفحه", "Page"),
    "next": ("بعدی", "Next"),
    "previous": ("قبلی", "Previous"),
    "folder": ("پوشه", "Folder"),
    "opened": ("تاریخ ثبت", "Opened"),
    "last_event": ("آخرین رویداد", "Last event"),
    "related": ("پرونده‌های مرتبط", "Related records"),
    "choose": ("انتخاب کنید", "choose"),
    "required": ("لازم است", "required"),
    "language": ("English", "فارسی"),
}

STAGES: dict[str, tuple[str, str]] = {
    "new": ("جدید", "new"), "following": ("در پیگیری", "following"), "declined": ("انصراف", "declined"),
    "open": ("پرونده باز", "open"), "contracted": ("قرارداد بسته شد", "contracted"),
    "in-service": ("در حال ارائه خدمت", "in service"), "cleared": ("تسویه‌شده", "cleared"),
    "crm-done": ("CRM انجام شد", "CRM done"), "archived": ("بایگانی‌شده", "archived"),
}

KINDS: dict[str, tuple[str, str]] = {
    "registered": ("ثبت", "registered"), "call": ("تماس", "call"), "note": ("یادداشت", "note"),
    "request": ("درخواست", "request"), "quote": ("پیشنهاد قیمت", "quote"), "followup": ("تعیین پیگیری", "follow-up"),
    "converted": ("تبدیل به مشتری", "converted"), "declined": ("انصراف", "declined"), "contract": ("قرارداد", "contract"),
    "invoice": ("فاکتور", "invoice"), "service": ("ارائه خدمت", "service"), "qc": ("کنترل کیفیت", "QC"),
    "cleared": ("تسویه", "cleared"), "crm": ("CRM", "CRM"), "archived": ("بایگانی", "archived"),
    "reopened": ("بازگشایی", "reopened"), "renamed": ("تغییر نام", "renamed"), "filed": ("فایل ثبت شد", "file filed"),
    "edited": ("ویرایش دستی", "edited by hand"),
}

# action name → (fa, en) label; the action list itself comes from the domain
ACTIONS: dict[str, tuple[str, str]] = {
    "log": ("ثبت تماس / یادداشت", "Log a call or note"), "followup": ("تعیین پیگیری بعدی", "Set the next follow-up"),
    "convert": ("تبدیل به مشتری", "Convert to a customer"), "decline": ("ثبت انصراف", "Declined"),
    "contract": ("ثبت قرارداد", "Contract signed"), "invoice": ("افزودن فاکتور", "Add an invoice"),
    "service": ("ثبت ارائه خدمت", "Log service work"), "qc": ("ثبت کنترل کیفیت", "Log a quality check"),
    "clear": ("تسویه", "Clear the service"), "crm": ("ثبت CRM", "CRM done"), "archive": ("بایگانی", "Archive"),
    "reopen": ("بازگشایی", "Reopen"),
}

FIELDS: dict[str, tuple[str, str]] = {
    "kind": ("نوع", "Kind"), "note": ("یادداشت", "Note"), "when": ("زمان", "When"), "service": ("خدمت", "Service"),
    "number": ("شماره", "Number"), "tax_id": ("شناسه مالیاتی", "Tax ID"), "amount": ("مبلغ", "Amount"),
    "date": ("تاریخ", "Date"),
}

PLACEHOLDERS: dict[str, tuple[str, str]] = {
    "when": ("+۲d، +۴h یا ۱۴۰۵/۰۹/۱۰ ۱۰:۰۰", "+2d, +4h, 1405-09-10 10:00"),
    "number": ("خالی: شماره بعدی", "empty: the next serial"),
    "date": ("خالی: امروز", "empty: today"),
}

_TO_PERSIAN = str.maketrans("0123456789", PERSIAN_DIGITS)


def pick(pair: tuple[str, str] | None, lang: str, fallback: str = "") -> str:
    if pair is None:
        return fallback
    return pair[0] if lang == "fa" else pair[1]


class Words:
    """The words of one page, in one language (what templates get as `t`, `stage`, `kind`)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "fa"

    def __call__(self, key: str) -> str:
        return pick(WORDS.get(key), self.lang, key)

    def stage(self, name: str | None) -> str:
        return pick(STAGES.get(name or ""), self.lang, name or "")

    def kind(self, name: str | None) -> str:
        return pick(KINDS.get(name or ""), self.lang, name or "")

    def action(self, name: str) -> str:
        return pick(ACTIONS.get(name), self.lang, name)

    def field(self, name: str) -> str:
        return pick(FIELDS.get(name), self.lang, name)

    def placeholder(self, name: str) -> str:
        return pick(PLACEHOLDERS.get(name), self.lang, "")

    def digits(self, value: object) -> str:
        """Persian digits on a Persian page; codes and dates keep their shape."""
        text = "" if value is None else str(value)
        return text.translate(_TO_PERSIAN) if self.lang == "fa" else text

    @property
    def dir(self) -> str:
        return "rtl" if self.lang == "fa" else "ltr"
