from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from jobs.models import Job


def index(request):
    return render(request, "jobs/index.html", {"jobs": Job.objects.all()[:20]})


@require_POST
def submit(request):
    text = request.POST.get("text", "").strip()[:200]
    if not text:
        return redirect("index")
    return redirect("detail", pk=Job.objects.create(text=text).pk)


def detail(request, pk: int):
    return render(request, "jobs/detail.html", {"job": get_object_or_404(Job, pk=pk)})
