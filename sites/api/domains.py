"""A site's domains: the default one and custom ones, which are routed once verified."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Action
from sites import domains, services
from sites.api.base import django_errors
from sites.api.serializers import DomainCreateSerializer, DomainSerializer
from sites.models import Domain, Site


def _domain(site: Site, hostname: str) -> Domain:
    domain = site.domains.filter(hostname=hostname.lower().rstrip(".")).first()
    if domain is None:
        raise Http404("No such domain on this site.")
    return domain


class DomainList(APIView):
    @extend_schema(responses=DomainSerializer(many=True))
    def get(self, request, name: str):
        site = services.get_site_for_member(request.user, name)
        return Response(DomainSerializer(site.domains.order_by("-is_default", "hostname"), many=True).data)

    @extend_schema(request=DomainCreateSerializer, responses={201: DomainSerializer})
    @django_errors
    def post(self, request, name: str):
        """Add a custom domain; it is routed once verified (see `verification`)."""
        site = services.get_site_for_member(request.user, name, Action.MANAGE_DOMAINS)
        data = DomainCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        domain = domains.add_domain(site, data.validated_data["hostname"])
        return Response(DomainSerializer(domain).data, status=status.HTTP_201_CREATED)


class DomainDetail(APIView):
    @extend_schema(responses=DomainSerializer)
    def get(self, request, name: str, hostname: str):
        site = services.get_site_for_member(request.user, name)
        return Response(DomainSerializer(_domain(site, hostname)).data)

    @extend_schema(responses={204: None})
    @django_errors
    def delete(self, request, name: str, hostname: str):
        site = services.get_site_for_member(request.user, name, Action.MANAGE_DOMAINS)
        domains.remove_domain(_domain(site, hostname))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DomainVerify(APIView):
    @extend_schema(request=None, responses=DomainSerializer)
    @django_errors
    def post(self, request, name: str, hostname: str):
        """Check the DNS TXT record or the HTTP token now; a verified domain is routed and gets a certificate."""
        site = services.get_site_for_member(request.user, name, Action.MANAGE_DOMAINS)
        return Response(DomainSerializer(domains.verify_domain(_domain(site, hostname))).data)
