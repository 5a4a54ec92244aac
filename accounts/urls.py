from django.urls import path

from accounts import views

urlpatterns = [
    path("2fa/enrol/", views.two_factor_enrol, name="two_factor_enrol"),
    path("2fa/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("2fa/disable/", views.two_factor_disable, name="two_factor_disable"),
    path("2fa/backup-codes/", views.backup_codes_regenerate, name="backup_codes_regenerate"),
    path("settings/", views.account_settings, name="account_settings"),
    path("settings/profile/", views.account_profile, name="account_profile"),
    # Shadows allauth's route of the same name and path (included after this module).
    path("password/reset/", views.PasswordResetView.as_view(), name="account_reset_password"),
    path("confirm-email/resend/", views.resend_confirmation, name="resend_confirmation"),
]
