from django import forms


class OtpCodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app, or a backup code",
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
