// The routing protocol numbers (`ip route show proto N`) that mark each plugin's shared routes, in
// one table: a route's proto says whose it is, so two plugins must never share one. 201–205 sit
// above the kernel's and the routing daemons' registered numbers (/etc/iproute2/rt_protos).
export const ROUTE_PROTOS = {
  'bridge-route': 201,
  vxlan: 202,
  macvlan: 203,
  gre: 204,
  'ipvlan-l3': 205,
} as const;

export type RoutedPlugin = keyof typeof ROUTE_PROTOS;
