from django.urls import path

from raffle import views

app_name = "raffle"

urlpatterns = [
    path("<int:period_id>/", views.period_page, name="period"),
    path("<int:period_id>/proof.json", views.proof_json, name="proof"),
    path("verify_draw.py", views.verifier_download, name="verifier"),
]
