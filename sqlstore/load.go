package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/roster-app/roster"
)

// LoadOptions sizes the fake data of LoadFake.
type LoadOptions struct {
	// Users is the number of users to create in all.
	Users int
	// Companies is the number of companies to spread them over.
	Companies int
	// BigCompanyUsers go to one company, named "Bigcorp"; the rest are
	// spread evenly over the others.
	BigCompanyUsers int
	// Seed makes the data reproducible.
	Seed int64
}

// BigCompanyName is the name of LoadFake's big company.
const BigCompanyName = "Bigcorp"

// fakeHash is a fixed argon2id hash (of "fake-password-123") shared by every
// fake user: hashing a million passwords would take hours.
const fakeHash = "$argon2id$v=19$m=19456,t=2,p=1$ZmFrZXNhbHRmYWtlc2FsdA$0q5mKq0Qbm5y7pLQ8o7C2bq0x0fM3m9b2Bw1QyW9m0Q"

// Names for fake users: Latin ones, and Cyrillic ones with the
// transliteration used for their e-mails and logins.
var (
	latinFirst = strings.Fields(`James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara
		Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Sandra
		Paul Ashley Steven Emily Andrew Donna Kenneth Michelle Joshua Carol Kevin Amanda Brian Melissa George Deborah
		Anna Sophie Lukas Emma Noah Mia Leon Hanna Elias Lea Pierre Camille Hugo Chloe Marco Giulia Pablo Lucia`)
	latinLast = strings.Fields(`Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
		Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
		Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker
		Hall Rivera Campbell Mitchell Carter Roberts Muller Schmidt Schneider Fischer Weber Meyer Wagner Becker Dubois
		Moreau Laurent Rossi Russo Ferrari Esposito Bianchi Romano Kowalski Nowak Novak Horvat Jensen Nielsen`)
	cyrFirst = [][2]string{{"Иван", "ivan"}, {"Пётр", "petr"}, {"Сергей", "sergey"}, {"Алексей", "aleksey"},
		{"Дмитрий", "dmitry"}, {"Андрей", "andrey"}, {"Михаил", "mikhail"}, {"Николай", "nikolay"},
		{"Владимир", "vladimir"}, {"Евгений", "evgeny"}, {"Ольга", "olga"}, {"Елена", "elena"}, {"Наталья", "natalya"},
		{"Татьяна", "tatyana"}, {"Анна", "anna"}, {"Мария", "maria"}, {"Ирина", "irina"}, {"Светлана", "svetlana"},
		{"Екатерина", "ekaterina"}, {"Юлия", "yulia"}, {"Артём", "artem"}, {"Максим", "maksim"}, {"Олег", "oleg"},
		{"Григорий", "grigory"}, {"Людмила", "lyudmila"}, {"Ксения", "ksenia"}, {"Дарья", "darya"}, {"Павел", "pavel"}}
	cyrLast = [][2]string{{"Иванов", "ivanov"}, {"Смирнов", "smirnov"}, {"Кузнецов", "kuznetsov"}, {"Попов", "popov"},
		{"Васильев", "vasilyev"}, {"Петров", "petrov"}, {"Соколов", "sokolov"}, {"Михайлов", "mikhaylov"},
		{"Новиков", "novikov"}, {"Фёдоров", "fedorov"}, {"Морозов", "morozov"}, {"Волков", "volkov"},
		{"Алексеев", "alekseev"}, {"Лебедев", "lebedev"}, {"Семёнов", "semenov"}, {"Егоров", "egorov"},
		{"Павлов", "pavlov"}, {"Козлов", "kozlov"}, {"Степанов", "stepanov"}, {"Николаев", "nikolaev"},
		{"Орлов", "orlov"}, {"Андреев", "andreev"}, {"Макаров", "makarov"}, {"Никитин", "nikitin"},
		{"Захаров", "zakharov"}, {"Зайцев", "zaytsev"}, {"Соловьёв", "solovyev"}, {"Борисов", "borisov"},
		{"Яковлев", "yakovlev"}, {"Григорьев", "grigoryev"}, {"Романов", "romanov"}, {"Воробьёв", "vorobyev"}}
	fakeDomains = strings.Fields(`example.com example.org example.net mail.example ops.example corp.example`)
)

// fakeUsers generates users and their role one at a time.
type fakeUsers struct {
	rng       *rand.Rand
	opts      LoadOptions
	companies []int64 // companies[0] is the big one
	roles     map[int64][]int64
	start     time.Time
	now       time.Time
}

// company returns the company of the i-th user.
func (g *fakeUsers) company(i int) int64 {
	if i < g.opts.BigCompanyUsers || len(g.companies) == 1 {
		return g.companies[0]
	}
	return g.companies[1+(i-g.opts.BigCompanyUsers)%(len(g.companies)-1)]
}

// user returns the i-th fake user (ID unset) and its role.
func (g *fakeUsers) user(i int) (*roster.User, int64) {
	r := g.rng
	u := &roster.User{CompanyID: g.company(i), PasswordHash: fakeHash}
	var firstT, lastT string
	if r.IntN(2) == 0 {
		f, l := latinFirst[r.IntN(len(latinFirst))], latinLast[r.IntN(len(latinLast))]
		u.FirstName, u.LastName, firstT, lastT = f, l, strings.ToLower(f), strings.ToLower(l)
	} else {
		f, l := cyrFirst[r.IntN(len(cyrFirst))], cyrLast[r.IntN(len(cyrLast))]
		u.FirstName, u.LastName, firstT, lastT = f[0], l[0], f[1], l[1]
		if f[1][len(f[1])-1] == 'a' || f[1] == "lyudmila" { // a woman: Иванова, Petrova
			u.LastName, lastT = l[0]+"а", l[1]+"a"
		}
	}
	u.Phone = fmt.Sprintf("+7 9%02d %03d-%02d-%02d", r.IntN(100), r.IntN(1000), r.IntN(100), r.IntN(100))
	if r.IntN(4) == 0 {
		u.WorkPhone = fmt.Sprintf("+7 495 %03d-%02d-%02d", r.IntN(1000), r.IntN(100), r.IntN(100))
	}
	if r.IntN(10) < 7 {
		u.AuthMethod = roster.AuthEmail
		u.Email = fmt.Sprintf("%s.%s%d@%s", firstT, lastT, i, fakeDomains[r.IntN(len(fakeDomains))])
	} else {
		u.AuthMethod = roster.AuthLogin
		u.Login = fmt.Sprintf("%c%s%d", firstT[0], lastT, i)
	}
	u.Status, u.NameSetBySelf = roster.StatusActive, true
	switch p := r.IntN(100); {
	case p < 4:
		u.Status = roster.StatusBlocked
	case p < 8 && u.AuthMethod == roster.AuthEmail:
		u.Status, u.PasswordHash, u.NameSetBySelf = roster.StatusInvited, "", false
		exp := g.now.Add(time.Duration(r.IntN(16)-8) * time.Hour)
		u.InvitationExpiresAt = &exp
	}
	// Spread creation over the past two years, in order of i.
	span := g.now.Sub(g.start)
	u.CreatedAt = g.start.Add(time.Duration(int64(span) / int64(max(g.opts.Users, 1)) * int64(i))).Truncate(time.Microsecond)
	u.UpdatedAt = u.CreatedAt
	roles := g.roles[u.CompanyID]
	role := roles[0]
	if r.IntN(10) == 0 {
		role = roles[r.IntN(len(roles))]
	}
	return u, role
}

// LoadFake fills the store with opts.Users fake users in opts.Companies new
// companies, for benchmarks and demonstrations. It bypasses the event log.
// PostgreSQL loads with COPY, SQLite with one transaction and a prepared
// statement; statistics are refreshed at the end.
func LoadFake(ctx context.Context, s *Store, opts LoadOptions) error {
	if opts.Companies < 1 {
		opts.Companies = 1
	}
	opts.BigCompanyUsers = min(opts.BigCompanyUsers, opts.Users)
	g := &fakeUsers{rng: rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed)), opts: opts, roles: map[int64][]int64{}}
	g.now = s.now()
	g.start = g.now.AddDate(-2, 0, 0)

	var firstID int64
	err := s.write(ctx, func(tx *Tx) error {
		var err error
		g.companies, g.roles = nil, map[int64][]int64{}
		firstID, err = fakeCompanies(ctx, tx, g)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.d.loadUsers(ctx, s, g, firstID); err != nil {
		return err
	}
	// The bulk load bypasses CreateUser: recount the companies it filled.
	var cb sqlBuilder
	if _, err := s.exec(ctx, `UPDATE companies SET user_count = (SELECT count(*) FROM users u
		WHERE u.company_id = companies.id) WHERE id IN (`+cb.inInts(g.companies)+`)`, cb.args...); err != nil {
		return fmt.Errorf("recount users: %w", err)
	}
	return nil
}

// fakeCompanies creates LoadFake's companies and returns the first id of
// its users.
func fakeCompanies(ctx context.Context, tx *Tx, g *fakeUsers) (int64, error) {
	opts := g.opts
	for i := range opts.Companies {
		c := &roster.Company{Name: fmt.Sprintf("Company %04d", i)}
		if i == 0 {
			c.Name = BigCompanyName
		}
		if err := createCompany(ctx, tx, c); err != nil {
			return 0, err
		}
		g.companies = append(g.companies, c.ID)
	}
	var b sqlBuilder
	rows, err := tx.QueryContext(ctx, `SELECT id, company_id FROM roles WHERE company_id IN (`+b.inInts(g.companies)+`)
		AND key IN ('employee', 'dispatcher', 'chat_operator', 'manager') ORDER BY key = 'employee' DESC, id`, b.args...)
	if err != nil {
		return 0, fmt.Errorf("fake roles: %w", err)
	}
	for rows.Next() {
		var id, cid int64
		if err := rows.Scan(&id, &cid); err != nil {
			rows.Close()
			return 0, err
		}
		g.roles[cid] = append(g.roles[cid], id)
	}
	rows.Close()
	// Above every id ever given, so that no deleted user's id comes back.
	return tx.s.d.nextID(ctx, tx, "users")
}

// userRow returns the users columns of fakeColumns for u.
func fakeUserRow(u *roster.User, id int64) []any {
	var inv any
	if u.InvitationExpiresAt != nil {
		inv = *u.InvitationExpiresAt
	}
	return []any{id, u.CompanyID, string(u.AuthMethod), u.Email, u.Login, u.FirstName, u.LastName, u.Phone,
		u.WorkPhone, string(u.Status), u.NameSetBySelf, u.PasswordHash, u.CreatedAt, u.UpdatedAt, inv,
		sortName(u), searchText(u)}
}

var fakeColumns = []string{"id", "company_id", "auth_method", "email", "login", "first_name", "last_name", "phone",
	"work_phone", "status", "name_set_by_self", "password_hash", "created_at", "updated_at", "invitation_expires_at",
	"sort_name", "search"}
