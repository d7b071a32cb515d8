from django.urls import path

from schoolgate.app.agreements import views as agreements
from schoolgate.app.alerts import views as alerts
from schoolgate.app.audit import views as audit
from schoolgate.app.cases import api, reports
from schoolgate.app.cases import views as cases
from schoolgate.app.concerns import chronology, inbox, my_work, notifications
from schoolgate.app.concerns import views as concerns
from schoolgate.app.console import views as console
from schoolgate.app.governance import views as governance
from schoolgate.app.people import picker, signin
from schoolgate.app.people import views as people
from schoolgate.app.reports import views as termly
from schoolgate.app.reviews import views as reviews

urlpatterns = [
    path("", signin.home, name="home"),
    path("login/", signin.sign_in, name="login"),
    path("logout/", signin.sign_out, name="logout"),
    path("two-factor/enrol/", signin.enrol_two_factor, name="otp-enrol"),
    path("two-factor/", signin.verify_two_factor, name="otp-verify"),
    path("report/", cases.report, name="report"),
    path("cases/", cases.case_list, name="case-list"),
    path("cases/<int:pk>/", cases.case_detail, name="case-detail"),
    path("cases/<int:pk>/triage/", cases.triage, name="case-triage"),
    path("cases/<int:pk>/actions/", cases.apply_actions, name="case-actions"),
    path("cases/<int:pk>/review/", cases.review, name="case-review"),
    path("cases/<int:pk>/evidence/", cases.add_evidence, name="case-evidence"),
    path(
        "cases/<int:pk>/evidence/<int:evidence_pk>/", cases.evidence_file, name="case-evidence-file"
    ),
    path("cases/<int:pk>/parents/", cases.inform_parent, name="case-parents"),
    path("cases/<int:pk>/note/", cases.add_note, name="case-note"),
    path("cases/<int:pk>/close/", cases.close, name="case-close"),
    path("cases/<int:pk>/to-concern/", cases.to_concern, name="case-to-concern"),
    path("reviews/<int:pk>/confirm/", cases.confirm_review, name="review-confirm"),
    path("logs/incident/", reports.incident_log, name="incident-log"),
    path("logs/incident.csv", reports.incident_log_csv, name="incident-log-csv"),
    path("logs/reporting/", reports.reporting_log, name="reporting-log"),
    path("logs/reporting.csv", reports.reporting_log_csv, name="reporting-log-csv"),
    path("governors/", termly.termly_report, name="governor-report"),
    path("governors/sign-off/", termly.sign_off, name="governor-report-sign-off"),
    path("people/", people.directory, name="directory"),
    path("people/import/", people.import_people, name="import-people"),
    path("people/import/confirm/", people.confirm_import, name="import-confirm"),
    path("audit/", audit.audit_list, name="audit-list"),
    path("concerns/new/", concerns.raise_concern, name="concern-raise"),
    path("concerns/", concerns.concern_list, name="concern-list"),
    path("concerns/<int:pk>/", concerns.concern_detail, name="concern-detail"),
    path("concerns/<int:pk>/update/", concerns.update, name="concern-update"),
    path("concerns/<int:pk>/tasks/", concerns.add_task, name="concern-task"),
    path(
        "concerns/<int:pk>/tasks/<int:task_pk>/done/", concerns.task_done, name="concern-task-done"
    ),
    path("concerns/<int:pk>/referral/", concerns.add_referral, name="concern-referral"),
    path("concerns/<int:pk>/note/", concerns.add_note, name="concern-note"),
    path("concerns/<int:pk>/close/", concerns.close, name="concern-close"),
    path("my-work/", my_work.my_work, name="my-work"),
    path("inbox/", inbox.alert_inbox, name="alert-inbox"),
    path("inbox/alerts/<int:pk>/", inbox.alert_detail, name="alert-detail"),
    path("inbox/alerts/<int:pk>/triage/", inbox.triage_alert, name="alert-triage"),
    path("inbox/alerts/<int:pk>/assign/", inbox.assign_alert, name="alert-assign"),
    path("inbox/exclusions/", inbox.exclusion_list, name="exclusion-list"),
    path("inbox/exclusions/<int:pk>/", inbox.decide_exclusion, name="exclusion-decide"),
    path("pupils/<int:pk>/chronology/", chronology.pupil_chronology, name="pupil-chronology"),
    path("people/find/", picker.find_people, name="find-people"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/<int:pk>/", notifications.open_notification, name="notification-open"),
    path("api/alerts/", api.alert_to_case, name="api-alerts"),
    path("alerts/history/<str:username>/", alerts.person_history, name="alert-history"),
    path("filter-changes/", governance.change_list, name="filter-changes"),
    path("filter-changes/new/", governance.propose, name="filter-change-propose"),
    path("filter-changes/<int:pk>/", governance.change_detail, name="filter-change"),
    path("filter-changes/<int:pk>/decide/", governance.decide, name="filter-change-decide"),
    path(
        "filter-changes/<int:pk>/withdraw/", governance.withdraw, name="filter-change-withdraw"
    ),
    path("filter-changes/log/", governance.change_log, name="filter-change-log"),
    path("console/", console.dashboard, name="console-dashboard"),
    path("console/queries/", console.query_log, name="console-query-log"),
    path("console/why-blocked/", console.tester, name="console-tester"),
    path("console/devices/", console.device_list, name="console-devices"),
    path("console/devices/new/", console.device_edit, name="console-device-new"),
    path("console/devices/<int:pk>/", console.device_edit, name="console-device-edit"),
    path("console/devices/<int:pk>/delete/", console.device_delete, name="console-device-delete"),
    path("console/requests/", console.request_list, name="console-requests"),
    path("console/requests/<int:pk>/", console.request_detail, name="console-request"),
    path("agreement/", agreements.my_agreement, name="my-agreement"),
    path("parent/", agreements.parent_home, name="parent-home"),
    path("parent/<int:child_pk>/sign/", agreements.parent_sign, name="parent-sign"),
    path("parent/<int:child_pk>/consents/", agreements.parent_consents, name="parent-consents"),
    path("parent/link/<str:token>/", agreements.parent_link, name="parent-link"),
    path("agreements/", agreements.register, name="agreement-register"),
    path("agreements/register.csv", agreements.register_csv, name="agreement-register-csv"),
    path("agreements/remind/", agreements.remind, name="agreement-remind"),
    path("consents/<int:child_pk>/", agreements.child_consents, name="child-consents"),
    path("publish-check/", agreements.publish_check, name="publish-check"),
    path("training/", agreements.training, name="training"),
    path("training/needs.csv", agreements.training_csv, name="training-csv"),
    path("filtering-reviews/", reviews.review_list, name="review-list"),
    path("filtering-reviews/new/", reviews.new_review, name="review-new"),
    path("filtering-reviews/<int:pk>/", reviews.review_detail, name="review-detail"),
    path("filtering-reviews/roles/", reviews.roles, name="roles-register"),
    path("filtering-reviews/evidence/", reviews.evidence, name="evidence-pack"),
    path("filtering-reviews/self-test/", reviews.selftest_page, name="selftest"),
    path("filtering-reviews/self-test/run/", reviews.selftest_run, name="selftest-run"),
    path(
        "filtering-reviews/self-test/<int:pk>/", reviews.selftest_page, name="selftest-run-detail"
    ),
    path("filtering-reviews/policy/", reviews.printed_policy, name="printed-policy"),
    path("filtering-reviews/uksic/", termly.self_check, name="uksic-self-check"),
]
