import re,sys
def sections(lines):
    """yield (secnum, title, start, end) for numbered headings followed by ---- underline"""
    heads=[]
    for i,l in enumerate(lines):
        m=re.match(r'^(\d+(?:\.\d+)*)\.\s+(\S.*)$',l)
        if m and i+1<len(lines) and re.match(r'^-{3,}\s*$',lines[i+1]):
            heads.append((m.group(1),m.group(2).strip(),i))
    out=[]
    for k,(n,t,i) in enumerate(heads):
        end=heads[k+1][2] if k+1<len(heads) else len(lines)
        out.append((n,t,i,end))
    return out
def entries(lines,start,end):
    """keyword entries: block of 1-8 consecutive col-0 lines preceded by a blank line and followed by an indented line"""
    res=[]
    i=start+2
    while i<end:
        l=lines[i]
        if l and l[0] not in ' 	-=' and lines[i-1].strip()=='':
            j=i
            while j<end and lines[j] and lines[j][0] not in ' 	': j+=1
            if j<end and lines[j].startswith('  ') and j-i<=8:
                for k in range(i,j): res.append((k,lines[k]))
            elif (j-i==1 and j+1<end and lines[j].strip()=='' and lines[j+1].startswith('  ')
                  and re.match(r'^[a-z0-9][a-z0-9._-]*( [a-z0-9._-]+)*( <.*| \[.*| \{.*)?$', l)):
                res.append((i,l))
            i=j
        i+=1
    return res
if __name__=='__main__':
    f=sys.argv[1]; want=sys.argv[2:]
    lines=open(f,encoding='utf-8',errors='replace').read().split('\n')
    for n,t,s,e in sections(lines):
        if not want or n in want:
            print('##',n,t,s+1,e)
            for i,l in entries(lines,s,e):
                print(f'{i+1}\t{l}')
